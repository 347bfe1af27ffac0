import assert from 'node:assert/strict';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DynamoOrderStore } from '#adapters/dynamo-orders.ts';
import { newTradeId } from '#core/ids.ts';
import { toState } from '#core/orders/changes.ts';
import type { Order } from '#core/orders/order.ts';
import type { DueOrders } from '#core/ports.ts';
import { createTables, type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb.ts';
import { Meter } from '../../local/meter.ts';

/**
 * The DynamoDB order store against DynamoDB Local: keys by order hash, and the wake-ups that keep every
 * open order findable by the sweep. Time is passed in (`listDue(now)`), so leases run out on demand.
 */
const t0 = Date.parse('2026-03-01T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const recheckAfterMs = 60_000;

let dynamo: DynamoDbLocal;
let client: DynamoDBClient;
let meter: Meter;
let proxy: { url: string; server: import('node:http').Server };
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  meter = new Meter();
  proxy = await meter.dynamoProxy(dynamo.endpoint);
  client = new DynamoDBClient({
    endpoint: proxy.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client?.destroy();
  proxy?.server.close();
  await dynamo?.stop();
});

/** A fresh pair of tables per test, so each starts with no watermark. */
async function freshStore(): Promise<DynamoOrderStore> {
  tables += 1;
  const names = {
    orders: `orders-${tables}`,
    wakeups: `wakeups-${tables}`,
    merchants: `merchants-${tables}`,
  };
  await createTables(client, names);
  return new DynamoOrderStore(client, {
    ordersTable: names.orders,
    wakeupsTable: names.wakeups,
    recheckAfterMs,
  });
}

let sequence = 0;
function openOrder(leaseUntil: number, overrides: Partial<Order> = {}): Order {
  sequence += 1;
  const mchTradeId = `store-${sequence}`;
  return {
    merchant_id: 'M1',
    mch_trade_id: mchTradeId,
    trade_id: newTradeId(t0, 'M1', mchTradeId),
    pay_type: 'wechat.micro',
    channel: 'wechat',
    total_fee: 1,
    fee_type: 'CNY',
    ...toState('CREATED'),
    body: 'b',
    auth_code_masked: '1345**********6700',
    request_fingerprint: 'f',
    created_at: iso(t0),
    updated_at: iso(t0),
    settlement: [],
    settle_due_at: iso(leaseUntil),
    settle_seq: 0,
    version: 1,
    ...overrides,
  };
}

const keys = (found: DueOrders) => found.due.map((k) => k.mch_trade_id);

describe('the DynamoDB order store', () => {
  it('finds an order by mch_trade_id and by trade_id with one consistent read each, and no other', async () => {
    const store = await freshStore();
    const order = openOrder(t0 + 75_000);
    await store.create(order);
    assert.equal((await store.get(order))?.trade_id, order.trade_id);
    const later = newTradeId(t0 + 5_000, 'M1', order.mch_trade_id);
    assert.equal((await store.findByTradeId('M1', order.trade_id))?.mch_trade_id, order.mch_trade_id);
    assert.equal(await store.findByTradeId('M1', later), undefined, 'same hash, other time: not this order');
    assert.equal(await store.findByTradeId('M2', order.trade_id), undefined, "another merchant's");
    assert.equal(await store.get({ merchant_id: 'M1', mch_trade_id: 'store-none' }), undefined);
  });

  it('a second create of the same order returns the first', async () => {
    const store = await freshStore();
    const order = openOrder(t0 + 75_000);
    assert.deepEqual(await store.create(order), { created: true });
    const again = await store.create({
      ...order,
      trade_id: newTradeId(t0 + 9_000, 'M1', order.mch_trade_id),
    });
    assert.equal(again.created, false);
    assert.equal(again.created === false && again.existing.trade_id, order.trade_id);
  });

  it('lists an order once its lease ran out, and again later while it stays open and unclaimed', async () => {
    const store = await freshStore();
    const order = openOrder(t0 + 75_000);
    await store.create(order);
    assert.deepEqual(keys(await store.listDue(iso(t0 + 10_000), 100)), []);
    assert.deepEqual(keys(await store.listDue(iso(t0 + 80_000), 100)), [order.mch_trade_id]);
    assert.deepEqual(keys(await store.listDue(iso(t0 + 81_000), 100)), [], 'looked at: not again at once');
    assert.deepEqual(keys(await store.listDue(iso(t0 + 80_000 + recheckAfterMs + 1), 100)), [
      order.mch_trade_id,
    ]);
  });

  it('follows a lease that moves, and forgets an order once it is final', async () => {
    const store = await freshStore();
    const created = openOrder(t0 + 75_000);
    await store.create(created);
    const claimed = await store.update(created, { ...toState('PAYING'), settle_due_at: iso(t0 + 200_000) });
    assert.deepEqual(keys(await store.listDue(iso(t0 + 80_000), 100)), [], 'the lease is live');
    assert.deepEqual(keys(await store.listDue(iso(t0 + 201_000), 100)), [created.mch_trade_id]);
    await store.update(claimed, { ...toState('PAID'), settle_due_at: undefined });
    assert.deepEqual(keys(await store.listDue(iso(t0 + 400_000), 100)), []);
  });

  it('an order reopened after it was final (an operator reverses a REVERSE_FAILED one) is found again', async () => {
    const store = await freshStore();
    const created = openOrder(t0 + 75_000, toState('REVERSING'));
    await store.create(created);
    const failed = await store.update(created, { ...toState('REVERSE_FAILED'), settle_due_at: undefined });
    assert.deepEqual(keys(await store.listDue(iso(t0 + 100_000), 100)), []);
    await store.update(failed, { ...toState('REVERSING'), settle_due_at: iso(t0 + 150_000) });
    assert.deepEqual(keys(await store.listDue(iso(t0 + 151_000), 100)), [created.mch_trade_id]);
  });

  it('a sweep that dies before moving its watermark leaves the next one to look again', async () => {
    const store = await freshStore();
    const order = openOrder(t0 + 75_000);
    await store.create(order);
    const dying = new DynamoDBClient({
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    dying.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Item?: { bucket?: unknown } };
        if (input.Item?.bucket === 'WATERMARK') throw new Error('killed before the watermark');
        return next(args);
      },
      { step: 'initialize' },
    );
    const names = { ordersTable: `orders-${tables}`, wakeupsTable: `wakeups-${tables}`, recheckAfterMs };
    await assert.rejects(new DynamoOrderStore(dying, names).listDue(iso(t0 + 80_000), 100));
    dying.destroy();
    assert.deepEqual(keys(await store.listDue(iso(t0 + 80_000), 100)), [order.mch_trade_id]);
  });

  it('ignores a wake-up whose order was never written (its create died after the wake-up)', async () => {
    const store = await freshStore();
    const order = openOrder(t0 + 75_000);
    const failing = new DynamoDBClient({
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    failing.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { TableName?: string; Item?: unknown };
        if (input.TableName === `orders-${tables}` && input.Item) throw new Error('killed before the order');
        return next(args);
      },
      { step: 'initialize' },
    );
    const names = { ordersTable: `orders-${tables}`, wakeupsTable: `wakeups-${tables}`, recheckAfterMs };
    await assert.rejects(new DynamoOrderStore(failing, names).create(order));
    failing.destroy();
    assert.equal(await store.get(order), undefined);
    assert.deepEqual(keys(await store.listDue(iso(t0 + 80_000), 100)), []);
  });

  it('an order that settles at once costs three write units: wake-up, create, update', async () => {
    const store = await freshStore();
    const order = openOrder(t0 + 75_000);
    const before = meter.dynamo.writeUnits;
    await store.create(order);
    await store.update(order, { ...toState('PAID'), settle_due_at: undefined, paid_at: iso(t0 + 1_000) }, [
      { at: iso(t0 + 1_000), action: 'pay', result: 'SUCCESS' },
    ]);
    assert.equal(meter.dynamo.writeUnits - before, 3);
  });
});
