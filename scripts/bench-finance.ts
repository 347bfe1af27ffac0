import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { orderKeyOf } from '#adapters/dynamo-orders.ts';
import type { ChannelDescriptor, OrderField } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { newTradeId, orderHash } from '#core/ids.ts';
import type { Order, OrderState } from '#core/orders/order.ts';
import { tradeStateOf } from '#core/orders/order.ts';
import { FinanceDuckDb } from '#finance/duckdb.ts';
import { writeLocalExport } from '#finance/local-export.ts';
import { createTables, startDynamoDbLocal } from '#local/dynamodb.ts';

/**
 * Times the local finance path for N orders (default 10,000): create them in DynamoDB Local, export (DynamoDB's
 * export layout), curate (Parquet), then each report. Orders are written straight to the table, shaped as the
 * gateway writes them (a mix of channels, states and fee fields), so the bench measures the export path and not
 * the payment API. Usage: node scripts/bench-finance.ts [orders]
 */
const count = Number(process.argv[2] ?? '10000');
const root = mkdtempSync(join(tmpdir(), 'micropay-bench-finance-'));
const dynamodb = await startDynamoDbLocal();
const client = new DynamoDBClient({
  endpoint: dynamodb.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const table = 'micropay-orders';
const phases: Array<[string, number]> = [];
const timed = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const result = await run();
  phases.push([label, performance.now() - started]);
  return result;
};

/** A day of orders as the gateway records them, spread over 24 hours (UTC) ending now. */
function order(i: number, now: number): Order {
  const states: OrderState[] = [
    'PAID',
    'PAID',
    'PAID',
    'PAID',
    'PAID',
    'PAID',
    'FAILED',
    'REVERSED',
    'CLOSED',
  ];
  const state: OrderState = i % 997 === 0 ? 'REVERSE_FAILED' : (states[i % states.length] ?? 'PAID');
  const channel = installedChannels[i % installedChannels.length] as ChannelDescriptor;
  const created = new Date(now - ((i * 8_640_000) / count) * 10 - 60_000);
  const paid = state === 'PAID' || state === 'REVERSED' || state === 'REVERSE_FAILED';
  const total = 100 + ((i * 7919) % 99_900);
  const merchantId = `M10000000${1 + (i % 5)}`;
  return {
    merchant_id: merchantId,
    mch_trade_id: `bench-${i}`,
    trade_id: newTradeId(created.getTime(), merchantId, `bench-${i}`),
    pay_type: channel.payTypes[0] ?? 'wechat.micro',
    channel: channel.name,
    total_fee: total,
    fee_type: 'CNY',
    state,
    trade_state: tradeStateOf[state],
    body: 'Bench goods',
    store_id: `S${i % 50}`,
    device_info: `POS-${i % 200}`,
    auth_code_masked: '1345**********0000',
    request_fingerprint: 'bench',
    created_at: created.toISOString(),
    updated_at: new Date(created.getTime() + 3_000).toISOString(),
    ...(paid ? { paid_at: new Date(created.getTime() + 2_000).toISOString() } : {}),
    ...(paid ? { cash_fee: total, ch_trade_id: `4200${i}`, time_end: 1 } : {}),
    // Each channel's own payment fields, as the export reads them: amounts, decimals and text.
    ...(paid ? channelFields(channel, total) : {}),
    ...(state === 'REVERSE_FAILED' ? { settle_due_at: new Date(now + 60_000).toISOString() } : {}),
    settlement: [{ at: created.toISOString(), action: 'pay', result: 'SUCCESS' }],
    version: 3,
  };
}

try {
  await createTables(client, { orders: table, wakeups: 'micropay-wakeups', merchants: 'micropay-merchants' });
  const now = Date.now();
  await timed(`create ${count} orders (BatchWriteItem)`, async () => {
    const batches: Order[][] = [];
    for (let i = 0; i < count; i += 25)
      batches.push(Array.from({ length: Math.min(25, count - i) }, (_, j) => order(i + j, now)));
    for (let b = 0; b < batches.length; b += 8) {
      await Promise.all(
        batches.slice(b, b + 8).map(async (batch) => {
          let items = batch.map((o) => ({
            PutRequest: {
              Item: marshall(
                { ...o, order_key: orderKeyOf(o.merchant_id, orderHash(o.merchant_id, o.mch_trade_id)) },
                { removeUndefinedValues: true },
              ),
            },
          }));
          while (items.length > 0) {
            const { UnprocessedItems } = await client.send(
              new BatchWriteItemCommand({ RequestItems: { [table]: items } }),
            );
            items = (UnprocessedItems?.[table] ?? []) as typeof items;
          }
        }),
      );
    }
  });
  const exported = await timed('export (scan, gzip JSON lines, manifests)', () =>
    writeLocalExport({ dynamo: client, table, root }),
  );
  if (exported.itemCount !== count) throw new Error(`exported ${exported.itemCount} of ${count} orders`);
  const db = await FinanceDuckDb.open(root);
  try {
    const curated = await timed('curate (DuckDB, Parquet)', () => db.curate(exported.dt, exported.exportId));
    if (curated !== count) throw new Error(`curated ${curated} of ${count} orders`);
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(now));
    const settlement = await timed('report daily-settlement', () => db.report('daily-settlement', [day]));
    const open = await timed('report open-orders', () => db.report('open-orders', []));
    const ledger = await timed('report ledger (one merchant, two days)', () =>
      db.report('ledger', ['M100000001', '2000-01-01', day]),
    );
    console.log(
      `\nLocal finance path, ${count} orders (DynamoDB Local, DuckDB ${process.platform}/${process.arch})`,
    );
    for (const [label, ms] of phases) console.log(`  ${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms`);
    const total = phases.slice(1).reduce((n, [, ms]) => n + ms, 0);
    console.log(`  ${'export + curate + three reports'.padEnd(44)} ${total.toFixed(0).padStart(7)} ms`);
    console.log(
      `  (${settlement.rows.length} settlement rows, ${open.rows.length} open orders, ${ledger.rows.length} ledger rows)`,
    );
    // Bytes per order, for the cost arithmetic in docs/finance.md.
    const gz = exported.dataFiles.map((key) => readFileSync(join(root, key)));
    const json = gz.reduce((n, file) => n + gunzipSync(file).byteLength, 0);
    const gzBytes = gz.reduce((n, file) => n + file.byteLength, 0);
    const curatedDir = join(root, 'curated/orders', `dt=${exported.dt}`);
    const parquet = readdirSync(curatedDir).reduce((n, f) => n + statSync(join(curatedDir, f)).size, 0);
    const per = (bytes: number) => `${(bytes / count).toFixed(0)} B/order`;
    console.log(`  sizes: DynamoDB JSON ${per(json)}, gzip ${per(gzBytes)}, curated Parquet ${per(parquet)}`);
  } finally {
    db.close();
  }
} finally {
  client.destroy();
  await dynamodb.stop();
  rmSync(root, { recursive: true, force: true });
}

/** Values for the fields `channel` adds to a paid order of `total` fen, of each field's kind. */
function channelFields(channel: ChannelDescriptor, total: number): Record<string, string | number> {
  const value = ({ kind }: OrderField) =>
    kind === 'fen' ? total : kind === 'decimal' ? ((total * 0.0038) / 100).toFixed(5) : 'bench';
  return Object.fromEntries(channel.orderFields.map((field) => [field.name, value(field)]));
}
