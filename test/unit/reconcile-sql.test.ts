import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  billDateColumn,
  discrepancyColumns,
  statementAccountColumns,
  statementRowColumns,
} from '#finance/catalog.ts';
import { parameterCount, readSql, reconcileParameters, sqlNames } from '#finance/sql.ts';

/**
 * finance/sql/reconcile.sql over small tables shaped as the curated snapshot (orders_current, refunds_current)
 * and the kept statements (statement_rows, statement_accounts): every class of SPEC section 9, the day's edges,
 * and amounts exact to the fen.
 */
const sql = readFileSync('finance/sql/reconcile.sql', 'utf8');

interface LocalOrder {
  trade_id: string;
  state: string;
  total_fee: number;
  paid_at?: string;
  time_end?: string;
  created_at?: string;
}
interface LocalRefund {
  trade_id: string;
  refund_id: string;
  out_refund_no: string;
  refund_fee: number;
  status: string;
  refunded_at?: string;
  created_at?: string;
}
interface Row {
  bill_date: string;
  kind: 'pay' | 'refund';
  out_trade_no: string;
  out_refund_no?: string;
  fee: number;
  state: string;
  channel_state: string;
}

const literal = (v: unknown) =>
  v === undefined || v === null
    ? 'NULL'
    : typeof v === 'number'
      ? String(v)
      : `'${String(v).replaceAll("'", "''")}'`;
const ts = (v?: string) => (v === undefined ? 'CAST(NULL AS TIMESTAMP)' : `TIMESTAMP '${v}'`);

async function reconcile(day: string, orders: LocalOrder[], refunds: LocalRefund[], rows: Row[]) {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`CREATE TABLE orders_current (channel VARCHAR, merchant_id VARCHAR, trade_id VARCHAR, mch_trade_id VARCHAR,
    state VARCHAR, total_fee BIGINT, paid_at TIMESTAMP, time_end TIMESTAMP, created_at TIMESTAMP)`);
  await c.run(`CREATE TABLE refunds_current (channel VARCHAR, merchant_id VARCHAR, trade_id VARCHAR, mch_trade_id VARCHAR,
    refund_id VARCHAR, out_refund_no VARCHAR, refund_fee BIGINT, status VARCHAR, refund_time TIMESTAMP,
    refunded_at TIMESTAMP, created_at TIMESTAMP)`);
  await c.run(`CREATE TABLE statement_rows (channel VARCHAR, account VARCHAR, bill_date VARCHAR, kind VARCHAR,
    out_trade_no VARCHAR, out_refund_no VARCHAR, fee BIGINT, state VARCHAR, channel_state VARCHAR)`);
  await c.run(
    'CREATE TABLE statement_accounts (channel VARCHAR, account VARCHAR, merchant_id VARCHAR, bill_date VARCHAR, status VARCHAR)',
  );
  await c.run(`INSERT INTO statement_accounts VALUES ('wechat', '1900000109', 'M1', '${day}', 'fetched')`);
  for (const o of orders) {
    await c.run(
      `INSERT INTO orders_current VALUES ('wechat', 'M1', ${literal(o.trade_id)}, ${literal(`m-${o.trade_id}`)}, ${literal(o.state)}, ${o.total_fee}, ${ts(o.paid_at)}, ${ts(o.time_end)}, ${ts(o.created_at ?? o.paid_at)})`,
    );
  }
  for (const r of refunds) {
    await c.run(
      `INSERT INTO refunds_current VALUES ('wechat', 'M1', ${literal(r.trade_id)}, ${literal(`m-${r.trade_id}`)}, ${literal(r.refund_id)}, ${literal(r.out_refund_no)}, ${r.refund_fee}, ${literal(r.status)}, NULL, ${ts(r.refunded_at)}, ${ts(r.created_at ?? r.refunded_at)})`,
    );
  }
  for (const s of rows) {
    await c.run(
      `INSERT INTO statement_rows VALUES ('wechat', '1900000109', ${literal(s.bill_date)}, ${literal(s.kind)}, ${literal(s.out_trade_no)}, ${literal(s.out_refund_no)}, ${s.fee}, ${literal(s.state)}, ${literal(s.channel_state)})`,
    );
  }
  const prepared = await c.prepare(sql);
  prepared.bind(reconcileParameters(day));
  const result = await prepared.runAndReadAll();
  const out = result.getRowObjectsJson() as Record<string, unknown>[];
  c.closeSync();
  db.closeSync();
  return out;
}

const pay = (bill_date: string, out_trade_no: string, fee: number, state = 'paid'): Row => ({
  bill_date,
  kind: 'pay',
  out_trade_no,
  fee,
  state,
  channel_state: state === 'paid' ? 'SUCCESS' : 'REVOKED',
});

describe('reconcile.sql: one class per payment or refund of the day (SPEC section 9)', () => {
  it('classes matched, missing_local, missing_channel, amount_mismatch and state_mismatch', async () => {
    const day = '2026-12-01';
    const at = '2026-12-01 02:00:00'; // 10:00 UTC+8
    const rows = await reconcile(
      day,
      [
        { trade_id: 'a-matched', state: 'PAID', total_fee: 101, paid_at: at },
        { trade_id: 'b-not-listed', state: 'PAID', total_fee: 200, paid_at: at },
        { trade_id: 'c-amount', state: 'PAID', total_fee: 300, paid_at: at },
        { trade_id: 'd-reversed-here', state: 'REVERSED', total_fee: 400, paid_at: at },
        { trade_id: 'e-failed-ours', state: 'FAILED', total_fee: 500, created_at: at },
        { trade_id: 'f-refunded', state: 'PAID', total_fee: 600, paid_at: '2026-11-30 02:00:00' },
      ],
      [
        {
          trade_id: 'f-refunded',
          refund_id: 'rf-1',
          out_refund_no: 'R1',
          refund_fee: 50,
          status: 'REFUNDED',
          refunded_at: at,
        },
      ],
      [
        pay(day, 'a-matched', 101),
        pay(day, 'c-amount', 301),
        pay(day, 'd-reversed-here', 400),
        pay(day, 'e-failed-ours', 500),
        pay(day, 'z-not-ours', 700),
        {
          bill_date: day,
          kind: 'refund',
          out_trade_no: 'f-refunded',
          out_refund_no: 'rf-1',
          fee: 50,
          state: 'refunded',
          channel_state: 'SUCCESS',
        },
      ],
    );
    const classOf = (id: string, kind = 'pay') =>
      rows.filter((r) => r.out_trade_no === id && r.kind === kind).map((r) => r.class);
    assert.deepEqual(classOf('a-matched'), ['matched']);
    assert.deepEqual(classOf('b-not-listed'), ['missing_channel']);
    assert.deepEqual(classOf('c-amount'), ['amount_mismatch']);
    assert.deepEqual(classOf('d-reversed-here'), ['state_mismatch']);
    assert.deepEqual(classOf('e-failed-ours'), ['state_mismatch']);
    assert.deepEqual(classOf('z-not-ours'), ['missing_local']);
    assert.deepEqual(classOf('f-refunded', 'refund'), ['matched']);
    // The refunded order's payment was on the day before: not this day's.
    assert.deepEqual(classOf('f-refunded'), []);
    const missing = rows.find((r) => r.out_trade_no === 'z-not-ours');
    assert.equal(missing?.merchant_id, 'M1');
    assert.equal(Number(missing?.channel_fee), 700);
  });

  it('puts an order created 23:59:58 and paid 00:00:03 (UTC+8) on the next day, on both sides', async () => {
    const order = {
      trade_id: 'straddle',
      state: 'PAID',
      total_fee: 1,
      created_at: '2026-11-30 15:59:58',
      time_end: '2026-11-30 16:00:03',
      paid_at: '2026-11-30 16:00:04',
    };
    const first = await reconcile('2026-11-30', [order], [], []);
    assert.deepEqual(first, [], 'not due on the day it was created');
    const next = await reconcile('2026-12-01', [order], [], [pay('2026-12-01', 'straddle', 1)]);
    assert.deepEqual(
      next.map((r) => r.class),
      ['matched'],
    );
    // Listed by the channel the day before ours (its clock): matched there, not missing here.
    const early = await reconcile('2026-12-01', [order], [], [pay('2026-11-30', 'straddle', 1)]);
    assert.deepEqual(early, []);
  });

  it('compares amounts exactly to the fen, whatever they are', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000_000_00 }),
        fc.integer({ min: -2, max: 2 }),
        async (fee, delta) => {
          const channelFee = Math.max(1, fee + delta);
          const rows = await reconcile(
            '2026-12-01',
            [{ trade_id: 'x', state: 'PAID', total_fee: fee, paid_at: '2026-12-01 02:00:00' }],
            [],
            [pay('2026-12-01', 'x', channelFee)],
          );
          assert.equal(rows[0]?.class, channelFee === fee ? 'matched' : 'amount_mismatch');
          assert.equal(Number(rows[0]?.local_fee), fee);
          assert.equal(Number(rows[0]?.channel_fee), channelFee);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('the reconciliation SQL as Athena runs it', () => {
  it('has every parameter marker of every SQL file in a WHERE clause, where Athena takes them', () => {
    for (const name of sqlNames) {
      const code = readSql(name)
        .replace(/--[^\n]*/g, '')
        .replace(/'(?:[^']|'')*'/g, "''");
      for (let at = code.indexOf('?'); at >= 0; at = code.indexOf('?', at + 1)) {
        const clauses = [
          ...code
            .slice(0, at)
            .toUpperCase()
            .matchAll(/\b(SELECT|FROM|WHERE|GROUP BY|ORDER BY|HAVING|JOIN|ON|WITH)\b/g),
        ];
        assert.equal(clauses.at(-1)?.[1], 'WHERE', `${name}: a marker at ${at} is in ${clauses.at(-1)?.[1]}`);
      }
    }
  });

  it('takes the day at each of its seven markers', () => {
    assert.equal(parameterCount(sql), 7);
    assert.deepEqual(reconcileParameters('2026-12-01'), Array(7).fill('2026-12-01'));
  });

  it('reads no statement of two days before (Athena reads the partitions of the day and the day before)', async () => {
    const order = { trade_id: 'old', state: 'PAID', total_fee: 5, paid_at: '2026-12-01 02:00:00' };
    const rows = await reconcile('2026-12-01', [order], [], [pay('2026-11-29', 'old', 5)]);
    assert.deepEqual(
      rows.map((r) => r.class),
      ['missing_channel'],
    );
  });
});

describe('reconciliation-totals.sql and reconciliation-discrepancies.sql over the discrepancies table', () => {
  async function over(sqlName: 'reconciliation-totals' | 'reconciliation-discrepancies', day: string) {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    await c.run(`CREATE TABLE discrepancies (class VARCHAR, channel VARCHAR, merchant_id VARCHAR, trade_id VARCHAR,
      mch_trade_id VARCHAR, out_trade_no VARCHAR, refund_id VARCHAR, out_refund_no VARCHAR, kind VARCHAR,
      local_fee BIGINT, channel_fee BIGINT, local_state VARCHAR, channel_state VARCHAR, bill_date VARCHAR)`);
    const rows: [string, string, number | null, number | null, string][] = [
      ['matched', 'wechat', 100, 100, '2026-12-01'],
      ['missing_local', 'wechat', null, 700, '2026-12-01'],
      ['missing_local', 'wechat', null, 300, '2026-12-01'],
      ['missing_channel', 'alipay', 200, null, '2026-12-01'],
      ['amount_mismatch', 'wechat', 300, 301, '2026-12-01'],
      ['state_mismatch', 'wechat', 400, 400, '2026-12-01'],
      ['missing_local', 'wechat', null, 9999, '2026-11-30'],
    ];
    for (const [cls, channel, local, remote, billDate] of rows)
      await c.run(
        `INSERT INTO discrepancies VALUES ('${cls}', '${channel}', 'M1', NULL, NULL, 't', NULL, NULL, 'pay', ${local ?? 'NULL'}, ${remote ?? 'NULL'}, 'paid', 'paid', '${billDate}')`,
      );
    const prepared = await c.prepare(readSql(sqlName));
    prepared.bind([day]);
    const out = (await prepared.runAndReadAll()).getRowObjectsJson() as Record<string, unknown>[];
    c.closeSync();
    db.closeSync();
    return out;
  }

  it('counts each class but matched per channel, with the fen at risk (the difference for an amount mismatch)', async () => {
    const totals = await over('reconciliation-totals', '2026-12-01');
    assert.deepEqual(
      totals.map((t) => [t.channel, t.class, Number(t.discrepancies), Number(t.fen)]),
      [
        ['alipay', 'missing_channel', 1, 200],
        ['wechat', 'amount_mismatch', 1, 1],
        ['wechat', 'missing_local', 2, 1000],
        ['wechat', 'state_mismatch', 1, 400],
      ],
    );
  });

  it('lists the rows of the day that need a person, none matched, none of another day', async () => {
    const listed = await over('reconciliation-discrepancies', '2026-12-01');
    assert.equal(listed.length, 5);
    assert.ok(listed.every((row) => row.class !== 'matched' && row.channel_fee !== 9999));
    assert.deepEqual(Object.keys(listed[0] ?? {}), [
      'class',
      'channel',
      'merchant_id',
      'trade_id',
      'mch_trade_id',
      'out_trade_no',
      'refund_id',
      'out_refund_no',
      'kind',
      'local_fee',
      'channel_fee',
      'local_state',
      'channel_state',
    ]);
  });
});

describe('the reconciliation tables in the finance guide', () => {
  it('has every column of statement_rows, statement_accounts and discrepancies, with its type', () => {
    const guide = readFileSync('docs/finance.md', 'utf8');
    const start = guide.indexOf('## Reconciliation in AWS\n');
    assert.ok(start >= 0, 'docs/finance.md has ## Reconciliation in AWS');
    const section = guide.slice(start, guide.indexOf('\n## ', start + 1));
    for (const [table, columns] of [
      ['statement_rows', statementRowColumns],
      ['statement_accounts', statementAccountColumns],
      ['discrepancies', discrepancyColumns],
    ] as const) {
      const tableSection = section.slice(section.indexOf(`### The table \`${table}\``));
      for (const column of [...columns, billDateColumn])
        assert.ok(
          tableSection.includes(`| \`${column.name}\` | ${column.type} |`),
          `${table}.${column.name}`,
        );
    }
  });
});
