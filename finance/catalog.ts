/**
 * The finance data catalog as plain data: where exports and the curated table live (the same keys in the S3
 * bucket and under the local root), the raw export's columns and the curated table's, in one place. The CDK
 * construct builds the Glue tables from it and the DuckDB runner builds the same schema and tables locally, so
 * the SQL files in finance/sql/ read the same names and types in Athena and in DuckDB.
 */
import type { ChannelDescriptor, OrderField } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';

/** The Glue database (and the DuckDB schema) the SQL files' unqualified table names resolve in. */
export const financeDatabase = 'micropay_finance';

/** Table names, the same in Glue and in DuckDB. */
export const financeTables = {
  /** DynamoDB's export as it wrote it (DynamoDB JSON), one partition per export: `dt` and `export_id`. */
  raw: 'orders_export',
  /** Typed, one row per order per daily snapshot, Parquet, partitioned by `dt` (the snapshot's date). */
  curated: 'orders',
  /** A view of `orders` at the latest snapshot: what the reports read. */
  current: 'orders_current',
  /** Typed, one row per refund (the `refunds` list of each order, unnested) per daily snapshot, Parquet, by `dt`. */
  refunds: 'refunds',
  /** A view of `refunds` at the latest snapshot: what the reports read beside `orders_current`. */
  refundsCurrent: 'refunds_current',
} as const;

/** Object key prefixes in the exports bucket (and folders under the local root). */
export const financePrefixes = {
  /** DynamoDB writes `<prefix>dt=YYYY-MM-DD/AWSDynamoDB/<export id>/{data/,manifest-*}` here. */
  exports: 'exports/orders/',
  curated: 'curated/orders/',
  curatedRefunds: 'curated/refunds/',
  athenaResults: 'athena-results/',
} as const;

/** Where the rows of one export are: its `data/` folder, never the manifests beside it. */
export function exportDataPrefix(dt: string, exportId: string): string {
  return `${financePrefixes.exports}dt=${dt}/AWSDynamoDB/${exportId}/data/`;
}

/**
 * The time zone settlement dates are counted in: China Standard Time. The gateway's merchants settle in
 * mainland China and Hong Kong, both UTC+8 without daylight saving, so one zone gives each its own local date.
 * Athena takes `?` parameters in WHERE clauses only, so the zone is written into the curate SQL.
 */
export const settlementTimeZone = 'Asia/Shanghai';

/**
 * A DynamoDB JSON attribute of the raw export: `{"S": …}`, `{"N": …}` (numbers are strings there too), or a list of
 * maps, `{"L": [{"M": {…}}, …]}`, whose maps declare their own attributes.
 */
export type RawAttribute = 's' | 'n' | { readonly listOfMaps: RawAttributes };
type RawAttributes = ReadonlyArray<readonly [name: string, type: RawAttribute]>;

/**
 * The attributes of one refund in an order's `refunds` list (core/refunds/refund.ts `Refund`, SPEC section 8) that
 * the raw table declares. `overdue_noted_at` and `attempts` pass unread.
 */
export const rawRefundAttributes: RawAttributes = [
  ['refund_id', 's'],
  ['out_refund_no', 's'],
  ['refund_fee', 'n'],
  ['refund_desc', 's'],
  ['op_user_id', 's'],
  ['status', 's'],
  ['ch_refund_id', 's'],
  ['refund_time', 'n'],
  ['err_code', 's'],
  ['err_msg', 's'],
  ['created_at', 's'],
  ['updated_at', 's'],
  ['refunded_at', 's'],
];

/**
 * The order attributes the raw table declares, with their DynamoDB type (SPEC section 7, core/orders/order.ts), then
 * the fields each channel adds (its descriptor's `orderFields`). Attributes not listed (internal ones such as the
 * settlement lease, and any added later) pass unread: the JSON SerDe and DuckDB's reader skip keys a struct does
 * not name. No payment code of any form is declared.
 */
export function rawAttributesFor(channels: readonly ChannelDescriptor[]): RawAttributes {
  const own: RawAttributes = [
    ['order_key', 's'],
    ['merchant_id', 's'],
    ['mch_trade_id', 's'],
    ['trade_id', 's'],
    ['ch_trade_id', 's'],
    ['out_trade_id', 's'],
    ['pay_type', 's'],
    ['channel', 's'],
    ['state', 's'],
    ['trade_state', 'n'],
    ['total_fee', 'n'],
    ['fee_type', 's'],
    ['cash_fee', 'n'],
    ['coupon_fee', 'n'],
    ['bank_type', 's'],
  ];
  const rest: RawAttributes = [
    ['body', 's'],
    ['attach', 's'],
    ['store_id', 's'],
    ['device_info', 's'],
    ['op_user_id', 's'],
    ['op_device_id', 's'],
    ['err_code', 's'],
    ['err_msg', 's'],
    ['reverse_action', 's'],
    ['created_at', 's'],
    ['updated_at', 's'],
    ['paid_at', 's'],
    ['refund_noted_at', 's'],
    ['time_end', 'n'],
    ['version', 'n'],
    ['refunds', { listOfMaps: rawRefundAttributes }],
  ];
  const added = financeFields(channels).map(
    (field) => [field.name, field.kind === 'fen' ? 'n' : 's'] as const,
  );
  return [...own, ...added, ...rest];
}

/** The raw table's attributes for the installed channels. */
export const rawAttributes = rawAttributesFor(installedChannels);

/** The order fields the channels add that finance reads, each once, in the channels' order. */
function financeFields(channels: readonly ChannelDescriptor[]): OrderField[] {
  const seen = new Map<string, OrderField>();
  for (const channel of channels) {
    for (const field of channel.orderFields) {
      if (field.finance !== false && !seen.has(field.name)) seen.set(field.name, field);
    }
  }
  return [...seen.values()];
}

/** Column types of the curated table, in Glue (Hive DDL) spelling; DuckDB's are derived from them. */
export type CuratedType = 'string' | 'int' | 'bigint' | 'timestamp' | 'date' | 'decimal(20,8)';

/** One curated column: name, type, and what it means (docs/finance.md lists the same). */
export interface CuratedColumn {
  readonly name: string;
  readonly type: CuratedType;
  readonly comment: string;
}

const curatedTypes: Readonly<Record<OrderField['kind'], CuratedType>> = {
  fen: 'bigint',
  decimal: 'decimal(20,8)',
  text: 'string',
};

/**
 * The curated table's columns in order (the curate SQL selects them in this order, then `dt`). Amounts are
 * integers of fen, fee fields exact decimals, times UTC timestamps, `settlement_date` the merchant's local date.
 * The columns the channels add follow the common amounts.
 */
export function curatedColumnsFor(channels: readonly ChannelDescriptor[]): readonly CuratedColumn[] {
  return [
    { name: 'merchant_id', type: 'string', comment: 'merchant' },
    { name: 'mch_trade_id', type: 'string', comment: "the merchant's order id" },
    { name: 'trade_id', type: 'string', comment: "the gateway's order id" },
    { name: 'ch_trade_id', type: 'string', comment: "the channel's transaction id" },
    { name: 'out_trade_id', type: 'string', comment: 'the order number sent to the channel' },
    { name: 'channel', type: 'string', comment: channels.map((channel) => channel.name).join(', ') },
    { name: 'pay_type', type: 'string', comment: 'wechat.micro, alipay.micro' },
    {
      name: 'state',
      type: 'string',
      comment: 'internal order state (docs/finance.md: what each means for money)',
    },
    { name: 'trade_state', type: 'int', comment: 'the state the merchant sees (0 paid … 7 failed)' },
    { name: 'fee_type', type: 'string', comment: 'currency (ISO 4217), CNY when the channel names none' },
    { name: 'total_fee', type: 'bigint', comment: 'order amount, integer fen' },
    { name: 'cash_fee', type: 'bigint', comment: 'paid in cash, integer fen (WeChat)' },
    { name: 'coupon_fee', type: 'bigint', comment: 'paid by coupons, integer fen (WeChat)' },
    ...financeFields(channels).map(({ name, kind, comment }) => ({
      name,
      type: curatedTypes[kind],
      comment,
    })),
    { name: 'bank_type', type: 'string', comment: "the payer's funding source as the channel names it" },
    { name: 'created_at', type: 'timestamp', comment: 'order recorded, UTC' },
    { name: 'updated_at', type: 'timestamp', comment: 'last change, UTC' },
    { name: 'paid_at', type: 'timestamp', comment: 'payment recorded (money taken), UTC' },
    { name: 'time_end', type: 'timestamp', comment: "the channel's completion time, UTC" },
    {
      name: 'refund_noted_at',
      type: 'timestamp',
      comment: 'a query found the payment refunded (trade_state 1), UTC',
    },
    {
      name: 'settlement_date',
      type: 'date',
      comment: `merchant's local date (${settlementTimeZone}) of paid_at, else created_at`,
    },
    { name: 'store_id', type: 'string', comment: 'store' },
    { name: 'device_info', type: 'string', comment: 'POS device' },
    { name: 'op_user_id', type: 'string', comment: 'cashier' },
    { name: 'op_device_id', type: 'string', comment: 'operator device' },
    { name: 'body', type: 'string', comment: 'goods description' },
    { name: 'attach', type: 'string', comment: "merchant's attached data" },
    { name: 'err_code', type: 'string', comment: "the channel's refusal code" },
    { name: 'err_msg', type: 'string', comment: "the channel's refusal text" },
    {
      name: 'reverse_action',
      type: 'string',
      comment: 'what a reverse did where the channel says (close, refund)',
    },
    { name: 'version', type: 'bigint', comment: 'order record version (changes with every write)' },
  ];
}

/** The curated table's columns for the installed channels. */
export const curatedColumns = curatedColumnsFor(installedChannels);

/**
 * The curated `refunds` table's columns in order (finance/sql/curate-refunds.sql selects them in this order, then
 * `dt`): one row per refund of an order (SPEC section 8), with the order's ids, channel and amount beside it.
 * Amounts are integers of fen, times UTC timestamps, `settlement_date` the merchant's local date of the day the
 * refund succeeded (`refunded_at`), else of the day it was recorded.
 */
export function refundColumnsFor(channels: readonly ChannelDescriptor[]): readonly CuratedColumn[] {
  return [
    { name: 'merchant_id', type: 'string', comment: 'merchant' },
    { name: 'mch_trade_id', type: 'string', comment: "the merchant's id of the order refunded" },
    { name: 'trade_id', type: 'string', comment: "the gateway's id of the order refunded" },
    { name: 'ch_trade_id', type: 'string', comment: "the channel's transaction id of the order" },
    { name: 'out_trade_id', type: 'string', comment: 'the order number sent to the channel' },
    { name: 'channel', type: 'string', comment: channels.map((channel) => channel.name).join(', ') },
    { name: 'pay_type', type: 'string', comment: 'wechat.micro, alipay.micro' },
    { name: 'fee_type', type: 'string', comment: "the order's currency (ISO 4217), CNY when none is named" },
    {
      name: 'refund_id',
      type: 'string',
      comment: "the gateway's refund id, also the refund number the channel knows",
    },
    { name: 'out_refund_no', type: 'string', comment: "the merchant's refund number" },
    { name: 'ch_refund_id', type: 'string', comment: "the channel's refund id, once known" },
    {
      name: 'status',
      type: 'string',
      comment: 'CREATED, PROCESSING, REFUNDED, FAILED, ABNORMAL (docs/finance.md: what each means for money)',
    },
    {
      name: 'refund_state',
      type: 'int',
      comment: 'the state the merchant sees: 0 refunded, 1 processing, 2 failed, 3 abnormal',
    },
    { name: 'refund_fee', type: 'bigint', comment: 'amount refunded (or asked for), integer fen' },
    { name: 'total_fee', type: 'bigint', comment: "the order's amount, integer fen" },
    { name: 'refund_desc', type: 'string', comment: "the merchant's reason for the refund" },
    { name: 'op_user_id', type: 'string', comment: 'who asked for the refund (cashier)' },
    { name: 'store_id', type: 'string', comment: "the order's store" },
    { name: 'device_info', type: 'string', comment: "the order's POS device" },
    { name: 'err_code', type: 'string', comment: "the channel's refusal code" },
    { name: 'err_msg', type: 'string', comment: "the channel's refusal text" },
    { name: 'created_at', type: 'timestamp', comment: 'refund recorded (amount reserved), UTC' },
    { name: 'updated_at', type: 'timestamp', comment: 'last change of the refund, UTC' },
    { name: 'refunded_at', type: 'timestamp', comment: 'the gateway learnt it succeeded (REFUNDED), UTC' },
    { name: 'refund_time', type: 'timestamp', comment: "the channel's refund time, UTC" },
    { name: 'paid_at', type: 'timestamp', comment: "the order's payment time, UTC" },
    {
      name: 'settlement_date',
      type: 'date',
      comment: `merchant's local date (${settlementTimeZone}) of refunded_at, else created_at`,
    },
  ];
}

/** The refunds table's columns for the installed channels. */
export const refundColumns = refundColumnsFor(installedChannels);

/**
 * The curate query's select expressions of the columns the channels add, in `curatedColumnsFor`'s order: what
 * stands for the `-- channel columns` line of finance/sql/curate-orders.sql.
 */
export function channelColumnsSql(channels: readonly ChannelDescriptor[]): string {
  const expression = ({ name, kind }: OrderField) =>
    kind === 'fen'
      ? `CAST(item.${name}.n AS BIGINT) AS ${name}`
      : kind === 'decimal'
        ? `CAST(item.${name}.s AS DECIMAL(20, 8)) AS ${name}`
        : `item.${name}.s AS ${name}`;
  return financeFields(channels)
    .map((field) => `  ${expression(field)},\n`)
    .join('');
}

/** Each curated table's view at the latest snapshot. */
const currentViews = {
  [financeTables.curated]: financeTables.current,
  [financeTables.refunds]: financeTables.refundsCurrent,
} as const;

/**
 * The statement that points `orders_current` (or, for `refunds`, `refunds_current`) at one snapshot: the state
 * machine runs it in Athena after each curate (building the same text), the DuckDB runner runs it locally. `dt`
 * is a date the caller made, never input.
 */
export function currentViewSql(dt: string, table: keyof typeof currentViews = financeTables.curated): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(dt)) throw new RangeError(`not a snapshot date: ${dt}`);
  return `CREATE OR REPLACE VIEW ${currentViews[table]} AS SELECT * FROM ${table} WHERE dt = '${dt}'`;
}

/** The partition column of the curated table (and the raw table's first): the snapshot's date, `YYYY-MM-DD`. */
export const snapshotColumn = {
  name: 'dt',
  type: 'string',
  comment: 'snapshot date (UTC), YYYY-MM-DD',
} as const;

/**
 * The raw table's `item` column in Glue's type spelling: a struct of `{s|n: string}` structs, and for a list of maps
 * (`refunds`) `struct<l:array<struct<m:struct<…>>>>`.
 */
export function rawItemGlueType(attributes: RawAttributes = rawAttributes): string {
  const typeOf = (type: RawAttribute): string =>
    typeof type === 'string'
      ? `struct<${type}:string>`
      : `struct<l:array<struct<m:${rawItemGlueType(type.listOfMaps)}>>>`;
  return `struct<${attributes.map(([name, type]) => `${name}:${typeOf(type)}`).join(',')}>`;
}

/**
 * The raw table's `item` column in DuckDB's type spelling. DuckDB matches JSON keys as written (`S`, `N`, `L`,
 * `M`), where Hive's JSON SerDe folds them to lower case; field access in SQL is case-insensitive in both.
 */
export function rawItemDuckDbType(attributes: RawAttributes = rawAttributes): string {
  const typeOf = (type: RawAttribute): string =>
    typeof type === 'string'
      ? `STRUCT(${type.toUpperCase()} VARCHAR)`
      : `STRUCT(L STRUCT(M ${rawItemDuckDbType(type.listOfMaps)})[])`;
  return `STRUCT(${attributes.map(([name, type]) => `${name} ${typeOf(type)}`).join(', ')})`;
}

/** A curated column's type as DuckDB names it. */
export function duckDbType(type: CuratedType): string {
  const names: Record<CuratedType, string> = {
    string: 'VARCHAR',
    int: 'INTEGER',
    bigint: 'BIGINT',
    timestamp: 'TIMESTAMP',
    date: 'DATE',
    'decimal(20,8)': 'DECIMAL(20,8)',
  };
  return names[type];
}

// ---- Reconciliation (SPEC section 9): the kept statements and the comparison's output.

/** The reconciliation's tables, the same names in Glue and in DuckDB. */
export const reconciliationTables = {
  /** The channels' statements, one row per payment or refund, JSON lines, partitioned by `bill_date`. */
  statementRows: 'statement_rows',
  /** Which merchants each account's statement of a day covers and whether it was fetched, by `bill_date`. */
  statementAccounts: 'statement_accounts',
  /** finance/sql/reconcile.sql's output for each day, Parquet, partitioned by `bill_date`. */
  discrepancies: 'discrepancies',
} as const;

/** Where statements are kept under a root: the exports bucket in AWS, `.local/` locally (the same keys). */
export const statementPrefixes = {
  /** The file exactly as fetched: `statements/raw/channel=…/account=…/bill_date=…/statement`. */
  raw: 'statements/raw/',
  /** Its rows as JSON lines, what the comparison reads: `statements/rows/bill_date=…/channel=…/account=….json`. */
  rows: 'statements/rows/',
  /** Which merchants each account's statement of the day covers: `statements/accounts/bill_date=…/accounts.json`. */
  accounts: 'statements/accounts/',
  /** The comparison's output: `reconciliation/bill_date=…/` (Parquet). */
  reconciliation: 'reconciliation/',
} as const;

const keyPart = (value: string) => encodeURIComponent(value);

/**
 * The object keys (paths under the local root) of one statement's files, and of a day's accounts file. Channel and
 * account are URI-encoded, so an account id with a `/` or `=` stays one path segment.
 */
export const statementKeys = {
  raw: (channel: string, account: string, billDate: string): string =>
    `${statementPrefixes.raw}channel=${keyPart(channel)}/account=${keyPart(account)}/bill_date=${billDate}/statement`,
  rows: (channel: string, account: string, billDate: string): string =>
    `${statementPrefixes.rows}bill_date=${billDate}/channel=${keyPart(channel)}/account=${keyPart(account)}.json`,
  accounts: (billDate: string): string => `${statementPrefixes.accounts}bill_date=${billDate}/accounts.json`,
  /** The folder the day's discrepancies are written to (Athena UNLOAD locally: one Parquet file in it). */
  reconciliation: (billDate: string): string => `${statementPrefixes.reconciliation}bill_date=${billDate}/`,
} as const;

/** The partition column of the reconciliation tables: the statement's day. */
export const billDateColumn = {
  name: 'bill_date',
  type: 'string',
  comment: "the settlement day (the channel's statement day, UTC+8), YYYY-MM-DD",
} as const;

/**
 * `statement_rows`' columns in order (core/channels/channel.ts `StatementRow`, with the channel and account it
 * came from); `bill_date` is the partition. A column is NULL where the channel's statement does not give it.
 */
export const statementRowColumns: readonly CuratedColumn[] = [
  { name: 'channel', type: 'string', comment: 'the channel whose statement lists the row' },
  { name: 'account', type: 'string', comment: 'the channel account the statement is of (mch_id, app_id…)' },
  { name: 'kind', type: 'string', comment: 'pay or refund' },
  { name: 'out_trade_no', type: 'string', comment: "our order number at the channel (the order's trade_id)" },
  { name: 'channel_trade_no', type: 'string', comment: "the channel's transaction id" },
  {
    name: 'out_refund_no',
    type: 'string',
    comment: "our refund number at the channel (the refund's refund_id)",
  },
  { name: 'channel_refund_no', type: 'string', comment: "the channel's refund id" },
  { name: 'fee', type: 'bigint', comment: 'fen paid (a payment) or refunded (a refund)' },
  {
    name: 'state',
    type: 'string',
    comment: 'the outcome: paid, reversed, refunded, refund_processing, refund_failed, refund_abnormal',
  },
  { name: 'channel_state', type: 'string', comment: "the channel's own word for it (SUCCESS, REVOKED…)" },
  { name: 'time', type: 'string', comment: 'the time the channel lists, ISO-8601 UTC' },
  { name: 'service_fee', type: 'bigint', comment: "the channel's fee on the row, fen, where it gives one" },
];

/** `statement_accounts`' columns in order (core/reconciliation/statements.ts `AccountLine`); `bill_date` partitions. */
export const statementAccountColumns: readonly CuratedColumn[] = [
  { name: 'channel', type: 'string', comment: 'channel' },
  { name: 'account', type: 'string', comment: 'the channel account (its statement is one file)' },
  { name: 'merchant_id', type: 'string', comment: 'a merchant routed to the account: one line per merchant' },
  {
    name: 'status',
    type: 'string',
    comment:
      'fetched (kept), not_published (not published yet, or not after a day of retries), unknown (not fetched), no_statement (the channel publishes none)',
  },
  { name: 'said', type: 'string', comment: 'what the channel said when it gave no statement (its code)' },
];

/** `discrepancies`' columns: finance/sql/reconcile.sql's output, in its order (SPEC section 9). */
export const discrepancyColumns: readonly CuratedColumn[] = [
  {
    name: 'class',
    type: 'string',
    comment: 'matched, missing_local, missing_channel, amount_mismatch, state_mismatch',
  },
  { name: 'channel', type: 'string', comment: 'channel' },
  {
    name: 'merchant_id',
    type: 'string',
    comment: "the merchant (of the order, else of the statement's account)",
  },
  { name: 'trade_id', type: 'string', comment: "the gateway's order id (NULL: the gateway has no record)" },
  { name: 'mch_trade_id', type: 'string', comment: "the merchant's order id" },
  { name: 'out_trade_no', type: 'string', comment: 'the order number the channel knows' },
  { name: 'refund_id', type: 'string', comment: "the gateway's refund id (a refund row)" },
  { name: 'out_refund_no', type: 'string', comment: "the merchant's refund number" },
  { name: 'kind', type: 'string', comment: 'pay or refund' },
  { name: 'local_fee', type: 'bigint', comment: "the gateway's amount, fen" },
  { name: 'channel_fee', type: 'bigint', comment: "the statement's amount, fen" },
  { name: 'local_state', type: 'string', comment: "the gateway's outcome" },
  { name: 'channel_state', type: 'string', comment: "the statement's outcome" },
];
