import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { bindingKeyOf, orderKeyOf } from '#adapters/table-order-store.ts';
import { refundBindingMark } from '#adapters/tables.ts';
import { newRefundId, orderHash, refundHash } from '#core/ids.ts';
import type { Order } from '#core/orders/order.ts';
import type { RefundBinding } from '#core/ports.ts';
import { type Refund, type RefundStatus, refundStateOf } from '#core/refunds/refund.ts';
import {
  type CuratedColumn,
  curatedColumns,
  duckDbType,
  rawItemDuckDbType,
  rawItemGlueType,
  refundColumns,
} from '#finance/catalog.ts';
import { FinanceDuckDb } from '#finance/duckdb.ts';
import { type ExportResult, writeExport } from '#finance/local-export.ts';
import { readSql, reportNames } from '#finance/sql.ts';

/** An item as the orders table holds it: the order with its key (adapters/dynamo-orders.ts putNewOrder). */
const orderItem = (order: Record<string, unknown>) =>
  marshall(
    {
      ...order,
      order_key: orderKeyOf(
        String(order.merchant_id),
        orderHash(String(order.merchant_id), String(order.mch_trade_id)),
      ),
    },
    { removeUndefinedValues: true },
  );
/** A refund number's binding as the table holds it, beside the orders (adapters/dynamo-orders.ts putNewBinding). */
const bindingItem = (binding: RefundBinding) =>
  marshall({
    ...binding,
    order_key: bindingKeyOf(binding.merchant_id, refundHash(binding.merchant_id, binding.out_refund_no)),
  });

const base = {
  merchant_id: 'M100000005',
  pay_type: 'wechat.micro',
  body: 'Goods',
  auth_code_masked: '1345**********6700',
  request_fingerprint: 'f',
  settlement: [{ at: '2026-12-01T15:59:58.000Z', action: 'pay', result: 'SUCCESS' }],
  version: 3,
};
/** Orders as the gateway stores them, with the fields each channel reports (amounts fen, fees exact yuan). */
const orders = [
  {
    ...base,
    mch_trade_id: 'fshows-1',
    trade_id: 't-fshows-1',
    channel: 'fshows',
    state: 'PAID',
    trade_state: 0,
    total_fee: 10001,
    fee_type: 'CNY',
    created_at: '2026-12-01T15:59:58.000Z',
    // 00:00:00.001 on 2 December in China: settles on the 2nd.
    paid_at: '2026-12-01T16:00:00.001Z',
    updated_at: '2026-12-01T16:00:00.001Z',
    time_end: 1796140800,
    pay_platform_fee: '0.00140',
    bank_commission_fee: '0.3',
    net_money: '99.70860',
    pay_platform_rate: '0.0038',
    // Attributes the table has and the catalog does not name pass unread.
    settle_seq: 2,
    some_future_field: { nested: ['x'] },
  },
  {
    ...base,
    mch_trade_id: 'fshows-2',
    trade_id: 't-fshows-2',
    channel: 'fshows',
    state: 'PAID',
    trade_state: 0,
    total_fee: 1,
    fee_type: 'CNY',
    created_at: '2026-12-01T20:00:00.000Z',
    paid_at: '2026-12-01T20:00:01.000Z',
    updated_at: '2026-12-01T20:00:01.000Z',
    pay_platform_fee: '0.00000001',
    net_money: '0.00999999',
  },
  {
    ...base,
    merchant_id: 'M100000001',
    pay_type: 'alipay.micro',
    mch_trade_id: 'alipay-1',
    trade_id: 't-alipay-1',
    channel: 'alipay',
    state: 'REVERSED',
    trade_state: 4,
    total_fee: 250,
    buyer_pay_amount: 250,
    receipt_amount: 250,
    reverse_action: 'refund',
    created_at: '2026-12-01T15:59:59.999Z',
    paid_at: '2026-12-01T15:59:59.999Z',
    updated_at: '2026-12-01T16:01:00.000Z',
  },
  {
    ...base,
    merchant_id: 'M100000004',
    mch_trade_id: 'hk-1',
    trade_id: 't-hk-1',
    channel: 'blueocean',
    state: 'REVERSING',
    trade_state: 5,
    total_fee: 700,
    fee_type: 'HKD',
    created_at: '2026-12-02T01:00:00.000Z',
    updated_at: '2026-12-02T01:00:05.000Z',
    settle_due_at: '2026-12-02T01:01:00.000Z',
    due_shard: 'DUE',
  },
  {
    ...base,
    merchant_id: 'M100000001',
    mch_trade_id: 'wechat-rf',
    trade_id: 't-wechat-rf',
    channel: 'wechat',
    state: 'REVERSE_FAILED',
    trade_state: 5,
    total_fee: 333,
    cash_fee: 333,
    created_at: '2026-12-01T10:00:00.000Z',
    paid_at: '2026-12-01T10:00:02.000Z',
    updated_at: '2026-12-01T10:04:00.000Z',
  },
];

describe('the finance SQL under DuckDB', () => {
  const root = mkdtempSync(join(tmpdir(), 'micropay-finance-sql-'));
  let db: FinanceDuckDb;
  let exported: ExportResult;
  beforeAll(async () => {
    exported = writeExport({
      root,
      tableArn: 'arn:aws:dynamodb:ap-east-1:123456789012:table/orders',
      exportTime: new Date('2026-12-02T16:30:00.000Z'),
      files: [
        orders.slice(0, 2).map(orderItem),
        [
          ...orders.slice(2).map(orderItem),
          // A refund number's binding of fshows-1: beside the orders, never one.
          bindingItem({
            merchant_id: 'M100000005',
            out_refund_no: 'rf-fshows-1',
            refund_id: newRefundId(Date.parse('2026-12-02T01:00:00.000Z'), 'M100000005', 'rf-fshows-1'),
            mch_trade_id: 'fshows-1',
            trade_id: 't-fshows-1',
            refund_fee: 100,
          }),
        ],
      ],
    });
    // A stray file beside data/ (as DynamoDB's manifests are): never a row.
    writeFileSync(join(exported.dir, 'manifest-extra.json.gz'), 'not data');
    db = await FinanceDuckDb.open(root);
    await db.curate(exported.dt, exported.exportId);
  });
  afterAll(() => {
    db.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('curates one row per order with the columns and types of the catalog, partitioned by snapshot date', async () => {
    const { rows } = await db.query('DESCRIBE orders');
    assert.deepEqual(
      rows.map((r) => `${r.column_name} ${r.column_type}`),
      [...curatedColumns.map((c) => `${c.name} ${duckDbType(c.type)}`), 'dt VARCHAR'],
    );
    assert.equal(exported.dt, '2026-12-02');
    assert.deepEqual(readdirSync(join(root, 'curated/orders')), ['dt=2026-12-02']);
    const count = await db.query('SELECT count(*) AS n FROM orders_current');
    assert.deepEqual(count.rows, [{ n: orders.length }]);
  });

  it('leaves the refund-number bindings beside the orders out: one row per order, none per binding', async () => {
    assert.equal(exported.itemCount, orders.length + 1, 'the binding is in the export');
    const { rows } = await db.query(
      'SELECT trade_id, count(*) AS n, count(state) AS with_state FROM orders_current GROUP BY trade_id ORDER BY trade_id',
    );
    assert.deepEqual(
      rows,
      orders
        .map((o) => ({ trade_id: o.trade_id, n: 1, with_state: 1 }))
        .sort((a, b) => a.trade_id.localeCompare(b.trade_id)),
    );
    // The mark curate-orders.sql filters on is the one the table's binding keys carry.
    assert.match(readSql('curate-orders'), new RegExp(`order_key\\.s NOT LIKE '%${refundBindingMark}%'`));
    assert.equal((await db.query('SELECT count(*) AS n FROM refunds_current')).rows[0]?.n, 0);
  });

  it('keeps amounts in fen and fees as exact decimals, and times as UTC timestamps', async () => {
    const { rows } = await db.query(
      `SELECT trade_id, total_fee, pay_platform_fee, bank_commission_fee, net_money, pay_platform_rate,
              buyer_pay_amount, created_at, paid_at, time_end, settlement_date, fee_type
       FROM orders_current ORDER BY trade_id`,
    );
    assert.deepEqual(rows[1], {
      trade_id: 't-fshows-1',
      total_fee: 10001,
      pay_platform_fee: '0.00140000',
      bank_commission_fee: '0.30000000',
      net_money: '99.70860000',
      pay_platform_rate: '0.00380000',
      buyer_pay_amount: null,
      created_at: '2026-12-01 15:59:58',
      paid_at: '2026-12-01 16:00:00.001',
      time_end: '2026-12-01 16:00:00',
      settlement_date: '2026-12-02',
      fee_type: 'CNY',
    });
    assert.equal(rows[0]?.buyer_pay_amount, 250);
    assert.equal(rows[0]?.fee_type, 'CNY', 'CNY when the channel names no currency');
  });

  it('dates settlement in China time: a millisecond before midnight is the day before', async () => {
    const { rows } = await db.query('SELECT trade_id, settlement_date FROM orders_current ORDER BY trade_id');
    assert.deepEqual(rows, [
      { trade_id: 't-alipay-1', settlement_date: '2026-12-01' },
      { trade_id: 't-fshows-1', settlement_date: '2026-12-02' },
      { trade_id: 't-fshows-2', settlement_date: '2026-12-02' },
      { trade_id: 't-hk-1', settlement_date: '2026-12-02' },
      { trade_id: 't-wechat-rf', settlement_date: '2026-12-01' },
    ]);
  });

  it('sums a settlement day exactly: paid fen, fees and net as decimals, open orders apart', async () => {
    const { rows } = await db.report('daily-settlement', ['2026-12-02']);
    assert.deepEqual(
      rows.map((r) => [
        r.merchant_id,
        r.channel,
        r.fee_type,
        r.paid_count,
        r.paid_fen,
        r.open_count,
        r.open_fen,
      ]),
      [
        ['M100000004', 'blueocean', 'HKD', 0, 0, 1, 700],
        ['M100000005', 'fshows', 'CNY', 2, 10002, 0, 0],
      ],
    );
    const fshows = rows.find((r) => r.channel === 'fshows');
    assert.equal(fshows?.fee_yuan, '0.30140001');
    assert.equal(fshows?.net_yuan, '99.71859999');
    assert.equal(rows.find((r) => r.channel === 'blueocean')?.fee_yuan, null, 'no fee reported: NULL, not 0');
  });

  it('counts a reversal of money taken as reversed, and a REVERSE_FAILED payment as open, not paid', async () => {
    const { rows } = await db.report('daily-settlement', ['2026-12-01']);
    assert.deepEqual(
      rows.map((r) => [
        r.merchant_id,
        r.channel,
        r.paid_count,
        r.reversed_count,
        r.reversed_fen,
        r.reversed_paid_fen,
        r.open_count,
        r.open_fen,
      ]),
      [
        ['M100000001', 'alipay', 0, 1, 250, 250, 0, 0],
        ['M100000001', 'wechat', 0, 0, 0, 0, 1, 333],
      ],
    );
  });

  it('lists open orders and a merchant ledger from the same snapshot', async () => {
    const open = await db.report('open-orders', []);
    assert.deepEqual(
      open.rows.map((r) => [r.trade_id, r.state]),
      [
        ['t-wechat-rf', 'REVERSE_FAILED'],
        ['t-hk-1', 'REVERSING'],
      ],
    );
    const ledger = await db.report('ledger', ['M100000005', '2026-12-01', '2026-12-02']);
    assert.deepEqual(
      ledger.rows.map((r) => r.trade_id),
      ['t-fshows-1', 't-fshows-2'],
    );
  });

  it('replaces the curated partition when the same day is exported again', async () => {
    const again = writeExport({
      root,
      tableArn: 'arn:aws:dynamodb:ap-east-1:123456789012:table/orders',
      exportTime: new Date('2026-12-02T18:00:00.000Z'),
      files: [orders.slice(0, 1).map(orderItem)],
    });
    await db.curate(again.dt, again.exportId);
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM orders')).rows, [{ n: 1 }]);
    await db.curate(exported.dt, exported.exportId);
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM orders')).rows, [{ n: orders.length }]);
  });

  it('reads a root curated before refunds existed: an empty refunds table, the same reports', async () => {
    const before = await db.report('daily-settlement', ['2026-12-02']);
    const old = mkdtempSync(join(tmpdir(), 'micropay-finance-old-'));
    try {
      cpSync(root, old, { recursive: true });
      rmSync(join(old, 'curated/refunds'), { recursive: true, force: true });
      const reopened = await FinanceDuckDb.open(old);
      try {
        assert.deepEqual((await reopened.query('SELECT count(*) AS n FROM refunds_current')).rows, [
          { n: 0 },
        ]);
        const { rows } = await reopened.query('DESCRIBE refunds');
        assert.deepEqual(
          rows.map((r) => `${r.column_name} ${r.column_type}`),
          [...refundColumns.map((c) => `${c.name} ${duckDbType(c.type)}`), 'dt VARCHAR'],
        );
        assert.deepEqual((await reopened.report('daily-settlement', ['2026-12-02'])).rows, before.rows);
      } finally {
        reopened.close();
      }
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('has every curated column documented in the finance guide, with its type', () => {
    const section = guideSection('## The curated table `orders`');
    for (const column of curatedColumns)
      assert.ok(section.includes(`| \`${column.name}\` | ${column.type} |`), column.name);
  });
});

/** The text of one `## ` section of docs/finance.md, from its heading to the next. */
function guideSection(heading: string): string {
  const guide = readFileSync('docs/finance.md', 'utf8');
  const start = guide.indexOf(`${heading}\n`);
  assert.ok(start >= 0, `docs/finance.md has ${heading}`);
  const end = guide.indexOf('\n## ', start + heading.length);
  return guide.slice(start, end < 0 ? undefined : end);
}

const refundMerchant = 'M100000002';
/** A refund as core/refunds keeps it in its order's item. */
function refund(
  outRefundNo: string,
  status: RefundStatus,
  fee: number,
  createdAt: string,
  more: Partial<Refund> = {},
): Refund {
  return {
    refund_id: newRefundId(Date.parse(createdAt), refundMerchant, outRefundNo),
    out_refund_no: outRefundNo,
    refund_fee: fee,
    status,
    created_at: createdAt,
    updated_at: more.refunded_at ?? createdAt,
    attempts: [{ at: createdAt, action: 'refund', result: status }],
    ...more,
  };
}
const refundOrder = (
  order: Partial<Order> & Pick<Order, 'mch_trade_id' | 'channel'>,
): Record<string, unknown> => ({
  ...base,
  merchant_id: refundMerchant,
  trade_id: `t-${order.mch_trade_id}`,
  state: 'PAID',
  trade_state: order.refunds?.some((r) => r.status === 'REFUNDED') ? 1 : 0,
  ...order,
});

/**
 * Orders of one merchant with refunds in every state: one refunded the day after it was paid (its refund
 * recorded at 23:30 on the day of payment, China time, and succeeding at 00:00:05 the next day), refused,
 * abnormal, processing and just created ones; one refunded the day it was paid; one without refunds.
 */
const paidThenRefunded = refundOrder({
  mch_trade_id: 'wx-refunded',
  channel: 'wechat',
  pay_type: 'wechat.micro',
  total_fee: 5000,
  cash_fee: 5000,
  store_id: 'store-9',
  device_info: 'pos-3',
  created_at: '2026-12-01T01:59:58.000Z',
  paid_at: '2026-12-01T02:00:00.000Z',
  updated_at: '2026-12-03T02:30:00.000Z',
  refunds: [
    refund('rf-ok', 'REFUNDED', 1200, '2026-12-01T15:30:00.000Z', {
      refund_desc: 'goods returned',
      op_user_id: 'cashier-7',
      ch_refund_id: '50301000532026120100001',
      refund_time: 1796140805,
      refunded_at: '2026-12-01T16:00:05.000Z',
    }),
    refund('rf-refused', 'FAILED', 300, '2026-12-01T03:00:00.000Z', {
      err_code: 'NOTENOUGH',
      err_msg: 'not enough funds to refund',
    }),
    refund('rf-abnormal', 'ABNORMAL', 400, '2026-12-02T03:00:00.000Z', {
      ch_refund_id: '50301000532026120200002',
      overdue_noted_at: '2026-12-02T04:00:00.000Z',
    }),
    refund('rf-processing', 'PROCESSING', 500, '2026-12-03T02:00:00.000Z'),
    refund('rf-created', 'CREATED', 100, '2026-12-03T02:30:00.000Z'),
  ],
});
const refundedSameDay = refundOrder({
  mch_trade_id: 'ali-refunded',
  channel: 'alipay',
  pay_type: 'alipay.micro',
  total_fee: 250,
  receipt_amount: 250,
  created_at: '2026-12-02T00:59:58.000Z',
  paid_at: '2026-12-02T01:00:00.000Z',
  updated_at: '2026-12-02T01:10:01.000Z',
  refunds: [
    refund('rf-ali', 'REFUNDED', 250, '2026-12-02T01:10:00.000Z', {
      ch_refund_id: '2026120222001',
      refund_time: 1796173801,
      refunded_at: '2026-12-02T01:10:01.000Z',
    }),
  ],
} as Partial<Order> & Pick<Order, 'mch_trade_id' | 'channel'>);
const plainPayment = refundOrder({
  mch_trade_id: 'wx-plain',
  channel: 'wechat',
  pay_type: 'wechat.micro',
  total_fee: 700,
  created_at: '2026-12-02T03:59:58.000Z',
  paid_at: '2026-12-02T04:00:00.000Z',
  updated_at: '2026-12-02T04:00:00.000Z',
});
const refundOrders = [paidThenRefunded, refundedSameDay, plainPayment];
const allRefunds = refundOrders.flatMap((order) =>
  ((order.refunds as Refund[] | undefined) ?? []).map((r) => ({ order, refund: r })),
);

describe('refunds in the finance SQL under DuckDB', () => {
  const root = mkdtempSync(join(tmpdir(), 'micropay-finance-refunds-'));
  let db: FinanceDuckDb;
  let curated: { orders: number; refunds: number };
  beforeAll(async () => {
    const exported = writeExport({
      root,
      tableArn: 'arn:aws:dynamodb:ap-east-1:123456789012:table/orders',
      exportTime: new Date('2026-12-03T16:30:00.000Z'),
      files: [
        refundOrders.map(orderItem),
        // Each refund's number is bound beside the orders (adapters/tables.ts).
        allRefunds.map(({ order, refund: r }) =>
          bindingItem({
            merchant_id: refundMerchant,
            out_refund_no: r.out_refund_no,
            refund_id: r.refund_id,
            mch_trade_id: String(order.mch_trade_id),
            trade_id: String(order.trade_id),
            refund_fee: r.refund_fee,
          }),
        ),
      ],
    });
    db = await FinanceDuckDb.open(root);
    curated = await db.curateSnapshot(exported.dt, exported.exportId);
  });
  afterAll(() => {
    db.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('declares the refunds list in both engines’ raw item type', () => {
    assert.match(rawItemGlueType(), /,refunds:struct<l:array<struct<m:struct<refund_id:struct<s:string>,/);
    assert.match(
      rawItemDuckDbType(),
      /, refunds STRUCT\(L STRUCT\(M STRUCT\(refund_id STRUCT\(S VARCHAR\), /,
    );
    assert.match(rawItemGlueType(), /^struct<order_key:struct<s:string>,/);
  });

  it('curates one row per refund with the columns and types of the catalog, and no binding as an order', async () => {
    assert.deepEqual(curated, { orders: refundOrders.length, refunds: allRefunds.length });
    const { rows } = await db.query('DESCRIBE refunds');
    assert.deepEqual(
      rows.map((r) => `${r.column_name} ${r.column_type}`),
      [...refundColumns.map((c) => `${c.name} ${duckDbType(c.type)}`), 'dt VARCHAR'],
    );
    assert.deepEqual(readdirSync(join(root, 'curated/refunds')), ['dt=2026-12-03']);
    const orderRows = await db.query('SELECT trade_id FROM orders_current ORDER BY trade_id');
    assert.deepEqual(
      orderRows.rows.map((r) => r.trade_id),
      ['t-ali-refunded', 't-wx-plain', 't-wx-refunded'],
    );
  });

  it('types each refund: fen, UTC timestamps, its state as the merchant sees it, the order beside it', async () => {
    const { rows } = await db.query('SELECT * EXCLUDE (dt) FROM refunds_current ORDER BY created_at');
    const expected = [...allRefunds]
      .sort((a, b) => a.refund.created_at.localeCompare(b.refund.created_at))
      .map(({ order, refund: r }) => ({
        merchant_id: refundMerchant,
        mch_trade_id: order.mch_trade_id,
        trade_id: order.trade_id,
        ch_trade_id: null,
        out_trade_id: null,
        channel: order.channel,
        pay_type: order.pay_type,
        fee_type: 'CNY',
        refund_id: r.refund_id,
        out_refund_no: r.out_refund_no,
        ch_refund_id: r.ch_refund_id ?? null,
        status: r.status,
        refund_state: refundStateOf[r.status],
        refund_fee: r.refund_fee,
        total_fee: order.total_fee,
        refund_desc: r.refund_desc ?? null,
        op_user_id: r.op_user_id ?? null,
        store_id: order.store_id ?? null,
        device_info: order.device_info ?? null,
        err_code: r.err_code ?? null,
        err_msg: r.err_msg ?? null,
        created_at: sqlTime(r.created_at),
        updated_at: sqlTime(r.updated_at),
        refunded_at: r.refunded_at ? sqlTime(r.refunded_at) : null,
        refund_time: r.refund_time ? sqlTime(new Date(r.refund_time * 1000).toISOString()) : null,
        paid_at: sqlTime(String(order.paid_at)),
        settlement_date: localDate(r.refunded_at ?? r.created_at),
      }));
    assert.deepEqual(rows, expected);
    // The refund recorded at 23:30 on the 1st (China time), on the day of payment, succeeded on the 2nd.
    const ok = rows.find((r) => r.out_refund_no === 'rf-ok');
    assert.equal(ok?.settlement_date, '2026-12-02');
    assert.equal(ok?.refunded_at, '2026-12-01 16:00:05');
    assert.equal(ok?.refund_time, '2026-12-01 16:00:05');
  });

  it('counts a refund on the day it succeeded, not the order’s day; net is paid less refunded', async () => {
    const day = async (date: string) =>
      (await db.report('daily-settlement', [date])).rows.map((r) => ({
        channel: r.channel,
        paid_count: r.paid_count,
        paid_fen: r.paid_fen,
        refund_count: r.refund_count,
        refund_fen: r.refund_fen,
        net_fen: r.net_fen,
        refund_open_count: r.refund_open_count,
        refund_open_fen: r.refund_open_fen,
        refund_abnormal_count: r.refund_abnormal_count,
        refund_abnormal_fen: r.refund_abnormal_fen,
      }));
    const none = {
      refund_open_count: 0,
      refund_open_fen: 0,
      refund_abnormal_count: 0,
      refund_abnormal_fen: 0,
    };
    // The 1st: the payment; its refused refund moves nothing, its refund of 23:30 counts on the 2nd.
    assert.deepEqual(await day('2026-12-01'), [
      {
        channel: 'wechat',
        paid_count: 1,
        paid_fen: 5000,
        refund_count: 0,
        refund_fen: 0,
        net_fen: 5000,
        ...none,
      },
    ]);
    assert.deepEqual(await day('2026-12-02'), [
      {
        channel: 'alipay',
        paid_count: 1,
        paid_fen: 250,
        refund_count: 1,
        refund_fen: 250,
        net_fen: 0,
        ...none,
      },
      {
        channel: 'wechat',
        paid_count: 1,
        paid_fen: 700,
        refund_count: 1,
        refund_fen: 1200,
        net_fen: -500,
        ...none,
        refund_abnormal_count: 1,
        refund_abnormal_fen: 400,
      },
    ]);
    // The 3rd: no payment, refunds still in flight (a row for them, nothing refunded yet).
    assert.deepEqual(await day('2026-12-03'), [
      {
        channel: 'wechat',
        paid_count: 0,
        paid_fen: 0,
        refund_count: 0,
        refund_fen: 0,
        net_fen: 0,
        ...none,
        refund_open_count: 2,
        refund_open_fen: 600,
      },
    ]);
  });

  it('lists refunds in the ledger beside the payments, succeeded ones as negative amounts, on their own day', async () => {
    const ledger = async (from: string, to: string) =>
      (await db.report('ledger', [refundMerchant, from, to])).rows.map((r) => [
        r.entry,
        r.mch_trade_id,
        r.out_refund_no,
        r.state,
        r.settlement_date,
        r.amount_fen,
      ]);
    assert.deepEqual(await ledger('2026-12-01', '2026-12-03'), [
      ['payment', 'wx-refunded', null, 'PAID', '2026-12-01', 5000],
      ['refund', 'wx-refunded', 'rf-refused', 'FAILED', '2026-12-01', 0],
      ['refund', 'wx-refunded', 'rf-ok', 'REFUNDED', '2026-12-02', -1200],
      ['payment', 'ali-refunded', null, 'PAID', '2026-12-02', 250],
      ['refund', 'ali-refunded', 'rf-ali', 'REFUNDED', '2026-12-02', -250],
      ['refund', 'wx-refunded', 'rf-abnormal', 'ABNORMAL', '2026-12-02', 0],
      ['payment', 'wx-plain', null, 'PAID', '2026-12-02', 700],
      ['refund', 'wx-refunded', 'rf-processing', 'PROCESSING', '2026-12-03', 0],
      ['refund', 'wx-refunded', 'rf-created', 'CREATED', '2026-12-03', 0],
    ]);
    // The 2nd alone: the refund of the 1st's payment is there, the payment is not.
    const second = await ledger('2026-12-02', '2026-12-02');
    assert.deepEqual(
      second.map((r) => r[2] ?? r[1]),
      ['rf-ok', 'ali-refunded', 'rf-ali', 'rf-abnormal', 'wx-plain'],
    );
    const { rows } = await db.report('ledger', [refundMerchant, '2026-12-01', '2026-12-03']);
    const ok = rows.find((r) => r.out_refund_no === 'rf-ok');
    assert.equal(ok?.refund_fee, 1200);
    assert.equal(ok?.refund_state, 0);
    assert.equal(ok?.total_fee, null, 'a refund row does not repeat the order amount');
    assert.equal(ok?.refunded_at, '2026-12-01 16:00:05');
    assert.equal(ok?.store_id, 'store-9');
    // The ledger's signed amounts sum to the days' net.
    assert.equal(
      rows.reduce((n, r) => n + Number(r.amount_fen), 0),
      5000 + 700 + 250 - 1200 - 250,
    );
  });

  it('lists the refunds still in flight, and abnormal ones, as open', async () => {
    const { rows } = await db.report('open-orders', []);
    assert.deepEqual(
      rows.map((r) => [r.entry, r.trade_id, r.out_refund_no, r.state, r.refund_state, r.refund_fee]),
      [
        ['refund', 't-wx-refunded', 'rf-abnormal', 'ABNORMAL', 3, 400],
        ['refund', 't-wx-refunded', 'rf-processing', 'PROCESSING', 1, 500],
        ['refund', 't-wx-refunded', 'rf-created', 'CREATED', 1, 100],
      ],
    );
  });

  it('documents every refunds column with its type, and every report column', async () => {
    const section = guideSection('## The curated table `refunds`');
    for (const column of refundColumns as readonly CuratedColumn[])
      assert.ok(section.includes(`| \`${column.name}\` | ${column.type} |`), column.name);
    const reports = guideSection('## Reports');
    const parameters = {
      'daily-settlement': ['2026-12-02'],
      'open-orders': [],
      ledger: [refundMerchant, '2026-12-01', '2026-12-03'],
    };
    for (const name of reportNames)
      for (const column of (await db.report(name, parameters[name])).columns)
        assert.ok(
          reports.includes(`\`${column.name}\``) || curatedColumns.some((c) => c.name === column.name),
          `${name}: ${column.name}`,
        );
  });
});

/** An ISO time as DuckDB prints a UTC timestamp. */
function sqlTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.000Z$|Z$/, '');
}

/** The merchant's local date of an ISO time (China Standard Time), computed apart from the SQL. */
function localDate(iso: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(iso));
}
