import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { curatedColumns, duckDbType } from '#finance/catalog.ts';
import { FinanceDuckDb } from '#finance/duckdb.ts';
import { type ExportResult, writeExport } from '#finance/local-export.ts';

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
      files: [orders.slice(0, 2).map((o) => marshall(o)), orders.slice(2).map((o) => marshall(o))],
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
      files: [orders.slice(0, 1).map((o) => marshall(o))],
    });
    await db.curate(again.dt, again.exportId);
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM orders')).rows, [{ n: 1 }]);
    await db.curate(exported.dt, exported.exportId);
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM orders')).rows, [{ n: orders.length }]);
  });

  it('has every curated column documented in the finance guide, with its type', () => {
    const guide = readFileSync('docs/finance.md', 'utf8');
    for (const column of curatedColumns)
      assert.ok(guide.includes(`| \`${column.name}\` | ${column.type} |`), column.name);
  });
});
