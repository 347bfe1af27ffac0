import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { type AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoOrderTables } from '#adapters/dynamo-orders.ts';
import { bindingKeyOf, orderKeyOf } from '#adapters/table-order-store.ts';
import { refundBindingMark } from '#adapters/tables.ts';
import { newRefundId, newTradeId, orderHash, refundHash } from '#core/ids.ts';
import type { Order } from '#core/orders/order.ts';
import { type Refund, type RefundStatus, refundStateOf } from '#core/refunds/refund.ts';
import { financePrefixes, settlementTimeZone } from '#finance/catalog.ts';
import { FinanceDuckDb } from '#finance/duckdb.ts';
import { type ExportResult, writeLocalExport } from '#finance/local-export.ts';
import { merchantClient, payment, scanOrders, useLocalStack, wechatCode } from '../support/local.ts';

/** Every sandbox outcome of SPEC section 6, each with its own amount so sums tell orders apart. */
const outcomes = ['00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '57'];
const amountOf = (i: number) => 100 + 37 * i;
const finalStates = new Set(['PAID', 'FAILED', 'REVERSED', 'CLOSED']);

type Row = Record<string, unknown>;

/** The merchant-local date of an ISO time, computed here independently of the SQL. */
function localDate(iso: unknown): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: settlementTimeZone }).format(new Date(String(iso)));
}

/** The merchant-local date an order settles on. */
function settlementDate(order: Row): string {
  return localDate(order.paid_at ?? order.created_at);
}

/** A refund number's binding, beside the orders in their table (adapters/tables.ts): not an order. */
const isBinding = (item: Row) => String(item.order_key).includes(refundBindingMark);

/** The orders of one export, read straight from its data files (gunzip, JSON lines, DynamoDB JSON). */
function exportedOrders(root: string, exported: ExportResult): Row[] {
  return exported.dataFiles.flatMap((key) =>
    gunzipSync(readFileSync(join(root, key)))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => unmarshall((JSON.parse(line) as { Item: Record<string, AttributeValue> }).Item)),
  );
}

describe('finance exports, curated table and reports over every sandbox outcome', () => {
  const stack = useLocalStack();
  const root = mkdtempSync(join(tmpdir(), 'micropay-finance-'));
  let dynamo: DynamoDBClient;
  beforeAll(() => {
    dynamo = new DynamoDBClient(stack().clientConfig('dynamodb'));
  });
  let db: FinanceDuckDb | undefined;
  let first: ExportResult | undefined;
  const finance = () => {
    if (!db) throw new Error('not curated');
    return db;
  };
  afterAll(() => {
    db?.close();
    dynamo?.destroy();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists as open exactly the orders still being settled when the export is taken', async () => {
    const client = merchantClient(stack());
    // One at a time: a burst of cold payments on a shared 2-core machine makes pay calls miss their deadline
    // (here and in the test files running beside this one).
    const answers = [];
    for (const [i, outcome] of outcomes.entries())
      answers.push(await client.micropay(payment(outcome, { total_fee: amountOf(i) })));
    // Taken at once: outcomes that answer USERPAYING or time out are still being queried.
    const inFlight = await writeLocalExport({ dynamo, table: String(stack().env.ORDERS_TABLE), root });
    db = await FinanceDuckDb.open(root);
    await db.curate(inFlight.dt, inFlight.exportId);
    const snapshot = exportedOrders(root, inFlight);
    assert.equal(snapshot.length, answers.length);
    const open = snapshot.filter((o) => !finalStates.has(String(o.state))).map((o) => String(o.trade_id));
    const { rows } = await db.report('open-orders', []);
    assert.deepEqual(rows.map((r) => r.trade_id).sort(), open.sort());
    assert.ok(rows.some((r) => r.state === 'PAYING'));
    await stack().stepFunctions.idle();
  });

  it('exports the settled orders table and curates one row per order', async () => {
    first = await writeLocalExport({ dynamo, table: String(stack().env.ORDERS_TABLE), root });
    const rows = await finance().curate(first.dt, first.exportId);
    const items = await scanOrders(stack());
    const table = items.filter((item) => !isBinding(item));
    assert.equal(first.itemCount, items.length);
    assert.equal(rows, table.length);
    assert.ok(table.length >= outcomes.length);
  });

  it("writes DynamoDB's export layout: gzip JSON lines of Item, manifests that list every data file", () => {
    assert.ok(first);
    const files = readdirSync(first.dir).sort();
    assert.deepEqual(files, [
      '_started',
      'data',
      'manifest-files.json',
      'manifest-files.md5',
      'manifest-summary.json',
      'manifest-summary.md5',
    ]);
    const listed = readFileSync(join(first.dir, 'manifest-files.json'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { itemCount: number; dataFileS3Key: string });
    assert.deepEqual(listed.map((f) => f.dataFileS3Key).sort(), [...first.dataFiles].sort());
    assert.equal(
      listed.reduce((n, f) => n + f.itemCount, 0),
      first.itemCount,
    );
    const summary = JSON.parse(readFileSync(join(first.dir, 'manifest-summary.json'), 'utf8'));
    assert.equal(summary.itemCount, first.itemCount);
    assert.match(summary.exportArn, new RegExp(`/export/${first.exportId}$`));
    assert.match(first.dir, new RegExp(`${financePrefixes.exports}dt=${first.dt}/AWSDynamoDB/`));
  });

  it('reads only the data files: the raw table has one row per order, none from the manifests', async () => {
    assert.ok(first);
    const { rows } = await finance().query(
      'SELECT count(*) AS n, count(item.trade_id.s) AS with_id FROM orders_export WHERE dt = ? AND export_id = ?',
      [first.dt, first.exportId],
    );
    assert.deepEqual(rows, [{ n: first.itemCount, with_id: first.itemCount }]);
  });

  it('gives settlement totals equal to the paid and reversed orders summed from the table', async () => {
    const expected = new Map<string, Record<string, number>>();
    for (const order of (await scanOrders(stack())).filter((item) => !isBinding(item))) {
      const key = [
        settlementDate(order),
        order.merchant_id,
        order.channel,
        order.pay_type,
        order.fee_type ?? 'CNY',
      ].join('|');
      const sums = expected.get(key) ?? {
        paid_count: 0,
        paid_fen: 0,
        reversed_count: 0,
        reversed_fen: 0,
        open_count: 0,
      };
      const fee = Number(order.total_fee);
      if (order.state === 'PAID') {
        sums.paid_count = (sums.paid_count ?? 0) + 1;
        sums.paid_fen = (sums.paid_fen ?? 0) + fee;
      } else if (order.state === 'REVERSED') {
        sums.reversed_count = (sums.reversed_count ?? 0) + 1;
        sums.reversed_fen = (sums.reversed_fen ?? 0) + fee;
      } else if (!finalStates.has(String(order.state))) {
        sums.open_count = (sums.open_count ?? 0) + 1;
      }
      expected.set(key, sums);
    }
    const actual = new Map<string, Record<string, number>>();
    for (const date of new Set([...expected.keys()].map((k) => k.split('|')[0] ?? ''))) {
      for (const row of (await finance().report('daily-settlement', [date])).rows) {
        const key = [row.settlement_date, row.merchant_id, row.channel, row.pay_type, row.fee_type].join('|');
        actual.set(key, {
          paid_count: Number(row.paid_count),
          paid_fen: Number(row.paid_fen),
          reversed_count: Number(row.reversed_count),
          reversed_fen: Number(row.reversed_fen),
          open_count: Number(row.open_count),
        });
      }
    }
    assert.deepEqual(actual, expected);
    // Not vacuous: the sandbox pays some outcomes and reverses others (SPEC section 6; which ones can shift
    // when a loaded machine lets a pay call time out, but never all of them).
    const all = [...expected.values()];
    assert.ok(all.reduce((n, s) => n + (s.paid_count ?? 0), 0) >= 1);
    assert.ok(all.reduce((n, s) => n + (s.reversed_count ?? 0), 0) >= 1);
  });

  it('lists as open exactly the orders left not final once settlement has run (REVERSE_FAILED ones)', async () => {
    const open = (await scanOrders(stack())).filter(
      (o) => !isBinding(o) && !finalStates.has(String(o.state)),
    );
    const { rows } = await finance().report('open-orders', []);
    const payments = rows.filter((r) => r.entry === 'payment');
    assert.deepEqual(payments.map((r) => r.trade_id).sort(), open.map((o) => o.trade_id).sort());
    for (const row of rows) assert.ok(Number(row.age_seconds) >= 0);
  });

  it('gives a ledger of one row per order of the merchant and date range', async () => {
    const orders = (await scanOrders(stack())).filter((o) => o.merchant_id === 'M100000001' && !isBinding(o));
    const dates = orders.map(settlementDate).sort();
    const ledger = await finance().report('ledger', ['M100000001', dates[0] ?? '', dates.at(-1) ?? '']);
    const rows = ledger.rows.filter((r) => r.entry === 'payment');
    // The ledger reads the latest snapshot: every order in it once, with its amount and state.
    const snapshotIds = new Set(
      (await finance().query('SELECT trade_id FROM orders_current')).rows.map((r) => String(r.trade_id)),
    );
    const expected = orders.filter((o) => snapshotIds.has(String(o.trade_id)));
    assert.equal(rows.length, expected.length);
    assert.equal(new Set(rows.map((r) => r.trade_id)).size, rows.length);
    const fen = Object.fromEntries(expected.map((o) => [o.trade_id, o.total_fee]));
    for (const row of rows) assert.equal(row.total_fee, fen[String(row.trade_id)]);
  });

  it('keeps payment codes out of every curated column and report; the raw export holds only the masked form', async () => {
    const codes = outcomes.map(wechatCode);
    const curated = JSON.stringify((await finance().query('SELECT * FROM orders')).rows);
    const columns = (await finance().query('DESCRIBE orders')).rows.map((r) => String(r.column_name));
    const reports = JSON.stringify([
      (await finance().report('open-orders', [])).rows,
      (await finance().report('ledger', ['M100000001', '2000-01-01', '2100-01-01'])).rows,
    ]);
    assert.ok(curated.includes('M100000001'), 'the curated rows are read');
    assert.deepEqual(
      columns.filter((c) => /auth/i.test(c)),
      [],
    );
    // The digits the sandbox codes share (and every masked form: 1345**********6700) appear nowhere.
    for (const text of [curated, reports]) {
      assert.doesNotMatch(text, /1345\*+\d{4}/);
      assert.equal(text.includes('1345678901234567'), false);
      for (const code of codes) assert.equal(text.includes(code), false);
    }
    const files = readdirSync(root, { recursive: true }).map(String);
    for (const file of files.filter((f) => f.endsWith('.json.gz'))) {
      const raw = gunzipSync(readFileSync(join(root, file))).toString('utf8');
      for (const code of codes) assert.equal(raw.includes(code), false, `${file} holds a payment code`);
    }
    for (const file of files.filter((f) => f.endsWith('.parquet') || f.endsWith('.json'))) {
      const bytes = readFileSync(join(root, file)).toString('latin1');
      assert.equal(bytes.includes('1345678901234567'), false, `${file} holds payment code digits`);
    }
  });

  it('exports refunds beside the orders: one row each, counted on the day they succeeded; bindings are no orders', async () => {
    // An order of the table paid on 30 November (China time) gets refunds in every state, written as the
    // gateway writes them (the orders adapter: the order with its refunds list, each number's binding beside it).
    const [template] = (await scanOrders(stack())).filter(
      (o) => o.merchant_id === 'M100000001' && o.state === 'PAID' && !isBinding(o),
    );
    assert.ok(template, 'a paid order to refund');
    const merchantId = 'M100000001';
    const mchTradeId = `refunds-${Date.now()}`;
    const paidAt = '2026-11-30T03:00:00.000Z';
    const refund = (
      no: string,
      status: RefundStatus,
      fee: number,
      createdAt: string,
      more: Partial<Refund> = {},
    ) =>
      ({
        refund_id: newRefundId(Date.parse(createdAt), merchantId, no),
        out_refund_no: no,
        refund_fee: fee,
        status,
        created_at: createdAt,
        updated_at: more.refunded_at ?? createdAt,
        attempts: [{ at: createdAt, action: 'refund', result: status }],
        ...more,
      }) satisfies Refund;
    const refunds = [
      // Recorded on the 1st (China time), succeeded at 01:00 on the 2nd: counted on the 2nd.
      refund(`${mchTradeId}-ok`, 'REFUNDED', 40, '2026-12-01T15:00:00.000Z', {
        ch_refund_id: '50301000532026120200001',
        refund_time: Date.parse('2026-12-01T17:00:00.000Z') / 1000,
        refunded_at: '2026-12-01T17:00:00.000Z',
      }),
      refund(`${mchTradeId}-refused`, 'FAILED', 30, '2026-11-30T05:00:00.000Z', {
        err_code: 'NOTENOUGH',
        err_msg: 'not enough funds',
      }),
      refund(`${mchTradeId}-abnormal`, 'ABNORMAL', 20, '2026-12-01T05:00:00.000Z'),
      refund(`${mchTradeId}-processing`, 'PROCESSING', 10, '2026-12-02T05:00:00.000Z'),
    ];
    const order = {
      ...template,
      mch_trade_id: mchTradeId,
      trade_id: newTradeId(Date.parse(paidAt) - 2000, merchantId, mchTradeId),
      total_fee: 100,
      trade_state: 1,
      created_at: '2026-11-30T02:59:58.000Z',
      paid_at: paidAt,
      updated_at: '2026-12-02T05:00:00.000Z',
      refunds,
    } as unknown as Order;
    delete (order as Record<string, unknown>).order_key;
    const tables = new DynamoOrderTables(
      DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
      { ordersTable: String(stack().env.ORDERS_TABLE), wakeupsTable: String(stack().env.WAKEUPS_TABLE) },
    );
    assert.ok(await tables.putNewOrder(orderKeyOf(merchantId, orderHash(merchantId, mchTradeId)), order));
    for (const r of refunds)
      assert.ok(
        await tables.putNewBinding(bindingKeyOf(merchantId, refundHash(merchantId, r.out_refund_no)), {
          merchant_id: merchantId,
          out_refund_no: r.out_refund_no,
          refund_id: r.refund_id,
          mch_trade_id: mchTradeId,
          trade_id: order.trade_id,
          refund_fee: r.refund_fee,
        }),
      );

    const exported = await writeLocalExport({ dynamo, table: String(stack().env.ORDERS_TABLE), root });
    const curated = await finance().curateSnapshot(exported.dt, exported.exportId);
    const items = await scanOrders(stack());
    const orders = items.filter((item) => !isBinding(item));
    const everyRefund = orders.flatMap((o) =>
      ((o.refunds as Refund[] | undefined) ?? []).map((r) => ({ o, r })),
    );
    assert.equal(items.length - orders.length, refunds.length, 'the bindings are in the table');
    assert.deepEqual(curated, { orders: orders.length, refunds: everyRefund.length });
    const ids = (await finance().query('SELECT trade_id, state FROM orders_current')).rows;
    assert.equal(
      new Set(ids.map((r) => r.trade_id)).size,
      ids.length,
      'no order twice: no binding as an order',
    );
    assert.ok(ids.every((r) => typeof r.state === 'string'));

    // The refunds table: each refund of the table once, as the merchant API shows its state.
    const { rows } = await finance().query(
      'SELECT trade_id, out_refund_no, status, refund_state, refund_fee, settlement_date FROM refunds_current',
    );
    const byNumber = (a: Row, b: Row) => String(a.out_refund_no).localeCompare(String(b.out_refund_no));
    assert.deepEqual(
      [...rows].sort(byNumber),
      everyRefund
        .map(({ o, r }) => ({
          trade_id: o.trade_id,
          out_refund_no: r.out_refund_no,
          status: r.status,
          refund_state: refundStateOf[r.status],
          refund_fee: r.refund_fee,
          settlement_date: localDate(r.refunded_at ?? r.created_at),
        }))
        .sort(byNumber),
    );

    // Settlement: the refund on the 2nd, not on the 30th when its order was paid.
    const refundsOn = async (date: string) =>
      (await finance().report('daily-settlement', [date])).rows
        .filter((r) => r.merchant_id === merchantId && r.channel === order.channel)
        .map((r) => ({
          refund_count: r.refund_count,
          refund_fen: r.refund_fen,
          net: Number(r.paid_fen) - Number(r.refund_fen) === r.net_fen,
        }));
    assert.deepEqual(await refundsOn('2026-12-02'), [{ refund_count: 1, refund_fen: 40, net: true }]);
    assert.deepEqual(await refundsOn('2026-11-30'), [{ refund_count: 0, refund_fen: 0, net: true }]);

    // The ledger: the payment, then its refunds, the succeeded one as a negative amount on its own day.
    const ledger = await finance().report('ledger', [merchantId, '2026-11-30', '2026-12-02']);
    assert.deepEqual(
      ledger.rows
        .filter((r) => r.trade_id === order.trade_id)
        .map((r) => [r.entry, r.state, r.settlement_date, r.amount_fen]),
      [
        ['payment', 'PAID', '2026-11-30', 100],
        ['refund', 'FAILED', '2026-11-30', 0],
        ['refund', 'ABNORMAL', '2026-12-01', 0],
        ['refund', 'REFUNDED', '2026-12-02', -40],
        ['refund', 'PROCESSING', '2026-12-02', 0],
      ],
    );
    // Open: the refund still processing and the abnormal one.
    const open = await finance().report('open-orders', []);
    assert.deepEqual(
      open.rows.filter((r) => r.entry === 'refund').map((r) => [r.trade_id, r.state]),
      [
        [order.trade_id, 'ABNORMAL'],
        [order.trade_id, 'PROCESSING'],
      ],
    );
  });

  it('runs export and report from the CLI with --env-file; --format json prints only a JSON array', async () => {
    const envFile = join(root, 'local.env');
    const env = stack().env;
    writeFileSync(
      envFile,
      [
        'AWS_REGION',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_ENDPOINT_URL_DYNAMODB',
        'ORDERS_TABLE',
      ]
        .map((name) => `${name}=${env[name]}\n`)
        .join(''),
    );
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['cli/micropay.ts', '--env-file', envFile, ...args], {
        env: { PATH: process.env.PATH ?? '' },
      });
    const exported = await cli('export', '--root', root);
    assert.match(exported.stdout, /orders/);
    const date = settlementDate((await scanOrders(stack())).find((item) => !isBinding(item)) ?? {});
    const { stdout, stderr } = await cli(
      'report',
      'daily-settlement',
      '--root',
      root,
      '--date',
      date,
      '--format',
      'json',
    );
    assert.match(stderr, /report daily-settlement: \d+ rows/);
    const printed = JSON.parse(stdout) as Row[];
    assert.ok(Array.isArray(printed) && printed.length > 0);
    // The CLI wrote a newer export: a fresh runner over the same root must print the same rows.
    const reopened = await FinanceDuckDb.open(root);
    try {
      assert.deepEqual(printed, (await reopened.report('daily-settlement', [date])).rows);
    } finally {
      reopened.close();
    }
  });
});
