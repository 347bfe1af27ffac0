import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StatementRow } from '#core/channels/channel.ts';
import type { Merchant } from '#core/merchants.ts';
import type { ChannelRegistry, Log } from '#core/ports.ts';
import {
  type AccountResult,
  fetchStatement,
  type StatementAccount,
  type StatementStore,
  statementAccounts,
} from '#core/reconciliation/statements.ts';
import type { FinanceDuckDb, QueryResult } from './duckdb.ts';

/** Where statements are kept under a root (the exports bucket's `statements/` prefix, or `.local/`). */
export const statementPrefixes = {
  /** The file exactly as fetched: `statements/raw/channel=…/account=…/bill_date=…/statement`. */
  raw: 'statements/raw/',
  /** Its rows as JSON lines, what the comparison reads: `statements/rows/bill_date=…/channel=…/account=…/`. */
  rows: 'statements/rows/',
  /** Which merchants each account's statement of the day covers, and whether it was fetched. */
  accounts: 'statements/accounts/',
  /** The comparison's output: `reconciliation/bill_date=…/discrepancies.parquet`. */
  reconciliation: 'reconciliation/',
} as const;

const part = (value: string) => encodeURIComponent(value);

/** Statements kept as files under `root`: the local stand-in of the exports bucket. */
export function fileStatementStore(root: string): StatementStore {
  const rawDir = (channel: string, account: string, billDate: string) =>
    join(
      root,
      statementPrefixes.raw,
      `channel=${part(channel)}`,
      `account=${part(account)}`,
      `bill_date=${billDate}`,
    );
  return {
    async has(channel, account, billDate) {
      return existsSync(join(rawDir(channel, account, billDate), 'statement'));
    },
    async put(channel, account, billDate, raw, rows) {
      // Rows first, the raw file last: a statement counts as kept only once both are written.
      const rowsDir = join(root, statementPrefixes.rows, `bill_date=${billDate}`, `channel=${part(channel)}`);
      mkdirSync(rowsDir, { recursive: true });
      const lines = rows.map((row) => JSON.stringify({ channel, account, ...row }));
      writeFileSync(
        join(rowsDir, `account=${part(account)}.json`),
        lines.length ? `${lines.join('\n')}\n` : '',
      );
      mkdirSync(rawDir(channel, account, billDate), { recursive: true });
      writeFileSync(join(rawDir(channel, account, billDate), 'statement'), raw);
    },
  };
}

/** One account's outcome of a run, per merchant it covers (the comparison reads only fetched ones). */
interface AccountLine {
  readonly channel: string;
  readonly account: string;
  readonly merchant_id: string;
  readonly bill_date: string;
  readonly status: 'fetched' | 'not_published' | 'unknown' | 'no_statement';
  readonly said?: string;
}

export interface ReconcileRun {
  readonly billDate: string;
  readonly accounts: ReadonlyArray<StatementAccount & { readonly result: AccountResult }>;
  /** Rows and fen per class, `matched` included. */
  readonly classes: Readonly<Record<string, { readonly rows: number; readonly fen: number }>>;
  /** The rows that are not `matched` (every row with `withMatched`). */
  readonly discrepancies: QueryResult;
}

/**
 * `micropay reconcile` in local mode (SPEC section 9): fetches and keeps each account's statement of `billDate`
 * from the channels (the sandboxes), then runs finance/sql/reconcile.sql over the kept statements and the
 * latest curated snapshot (run `micropay export` first) and writes the discrepancies beside them.
 */
export async function reconcileLocally(options: {
  readonly root: string;
  readonly billDate: string;
  readonly merchants: readonly Merchant[];
  readonly channels: ChannelRegistry;
  readonly log: Log;
  readonly db: FinanceDuckDb;
  readonly deadlineScale?: number;
  /** Return the matched rows too (a day's matched rows are as many as its payments; the Parquet holds them). */
  readonly withMatched?: boolean;
}): Promise<ReconcileRun> {
  const { root, billDate } = options;
  const ports = {
    channels: options.channels,
    clock: { now: Date.now },
    log: options.log,
    statements: fileStatementStore(root),
    deadlineScale: options.deadlineScale ?? 1,
  };
  const accounts = [];
  for (const account of statementAccounts(options.merchants, options.channels)) {
    accounts.push({ ...account, result: await fetchStatement(ports, account, billDate) });
  }
  const lines: AccountLine[] = accounts.flatMap(({ channel, account, merchant_ids, result }) =>
    merchant_ids.map((merchant_id) => ({
      channel,
      account,
      merchant_id,
      bill_date: billDate,
      status: result.kind === 'kept' || result.kind === 'fetched' ? 'fetched' : result.kind,
      ...('said' in result ? { said: result.said } : {}),
    })),
  );
  const accountsDir = join(root, statementPrefixes.accounts, `bill_date=${billDate}`);
  mkdirSync(accountsDir, { recursive: true });
  writeFileSync(
    join(accountsDir, 'accounts.json'),
    `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`,
  );
  await registerStatementTables(options.db, root);
  // Compared once, into the Parquet; only the counts and the rows a person must look at come back into memory.
  const out = join(root, statementPrefixes.reconciliation, `bill_date=${billDate}`);
  mkdirSync(out, { recursive: true });
  const parquet = join(out, 'discrepancies.parquet');
  await options.db.toParquet(readReconcileSql(), [billDate], parquet);
  const from = `read_parquet('${parquet.replaceAll("'", "''")}')`;
  const counted = await options.db.query(
    `SELECT class, count(*) AS rows, sum(coalesce(channel_fee, local_fee)) AS fen FROM ${from} GROUP BY class`,
  );
  const classes = Object.fromEntries(
    counted.rows.map((row) => [String(row.class), { rows: Number(row.rows), fen: Number(row.fen ?? 0) }]),
  );
  const discrepancies = await options.db.query(
    `SELECT * FROM ${from}${options.withMatched ? '' : " WHERE class <> 'matched'"}`,
  );
  return { billDate, accounts, classes, discrepancies };
}

/** The comparison's SQL, as Athena's named query holds it. */
export function readReconcileSql(): string {
  return readFileSync(new URL('./sql/reconcile.sql', import.meta.url), 'utf8');
}

/** `statement_rows` and `statement_accounts` over the kept files (empty tables when none is kept yet). */
export async function registerStatementTables(db: FinanceDuckDb, root: string): Promise<void> {
  const files = (prefix: string) => {
    const dir = join(root, prefix);
    if (!existsSync(dir)) return [];
    return (readdirSync(dir, { recursive: true }) as string[])
      .filter((name) => name.endsWith('.json'))
      .map((name) => join(dir, name))
      .filter((file) => readFileSync(file).length > 0);
  };
  const rowColumns = {
    channel: 'VARCHAR',
    account: 'VARCHAR',
    bill_date: 'VARCHAR',
    kind: 'VARCHAR',
    out_trade_no: 'VARCHAR',
    channel_trade_no: 'VARCHAR',
    out_refund_no: 'VARCHAR',
    channel_refund_no: 'VARCHAR',
    fee: 'BIGINT',
    state: 'VARCHAR',
    channel_state: 'VARCHAR',
    time: 'VARCHAR',
    service_fee: 'BIGINT',
  } satisfies Record<keyof StatementRow | 'channel' | 'account', string>;
  const accountColumns = {
    channel: 'VARCHAR',
    account: 'VARCHAR',
    merchant_id: 'VARCHAR',
    bill_date: 'VARCHAR',
    status: 'VARCHAR',
    said: 'VARCHAR',
  } satisfies Record<keyof AccountLine, string>;
  const view = (name: string, list: string[], columns: Record<string, string>) => {
    const struct = Object.entries(columns)
      .map(([column, type]) => `'${column}': '${type}'`)
      .join(', ');
    const empty = Object.entries(columns)
      .map(([column, type]) => `CAST(NULL AS ${type}) AS ${column}`)
      .join(', ');
    const source =
      list.length === 0
        ? `SELECT ${empty} WHERE false`
        : `SELECT * FROM read_json([${list.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ')}], format = 'newline_delimited', columns = {${struct}})`;
    return `CREATE OR REPLACE VIEW ${name} AS ${source}`;
  };
  await db.query(view('statement_rows', files(statementPrefixes.rows), rowColumns));
  await db.query(view('statement_accounts', files(statementPrefixes.accounts), accountColumns));
}
