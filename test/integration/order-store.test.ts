import assert from 'node:assert/strict';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { DynamoOrderStore, DynamoOrderTables } from '#adapters/dynamo-orders.ts';
import type { OrderTables } from '#adapters/order-tables.ts';
import { TableOrderStore } from '#adapters/table-order-store.ts';
import { newTradeId } from '#core/ids.ts';
import { toState } from '#core/orders/changes.ts';
import type { Order } from '#core/orders/order.ts';
import type { DueOrders } from '#core/ports.ts';
import { createTables } from '../../local/dynamodb.ts';
import { Meter } from '../../local/meter.ts';

/**
 * The DynamoDB order store against DynamoDB Local: keys by order hash, and the wake-ups that keep every
 * open order findable by the sweep. Time is passed in (`listDue(now)`), so leases run out on demand.
 */
const t0 = Date.parse('2026-03-01T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const recheckAfterMs = 60_000;

let client: DynamoDBClient;
let db: DynamoDBDocumentClient;
let meter: Meter;
let proxy: { url: string; server: import('node:http').Server };
let tables = 0;
/** This file's tables in the run's shared DynamoDB Local. */
const run = `store-${process.pid}`;

beforeAll(async () => {
  meter = new Meter();
  proxy = await meter.dynamoProxy(inject('dynamoDbEndpoint'));
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  client = new DynamoDBClient({ endpoint: proxy.url, region: 'us-east-1', credentials });
  db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
});

/** The store over `names`, its process dying (throwing) at the first call of `dies` to its tables. */
function dyingAt(
  dies: keyof OrderTables,
  names: { ordersTable: string; wakeupsTable: string },
): TableOrderStore {
  const tables = new DynamoOrderTables(db, names);
  const dying = new Proxy(tables, {
    get: (target, property) => {
      if (property === dies) return () => Promise.reject(new Error(`killed at ${String(property)}`));
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return new TableOrderStore(dying, { recheckAfterMs });
}

afterAll(async () => {
  client?.destroy();
  proxy?.server.close();
});

/** A fresh pair of tables per test, so each starts with no watermark. */
async function freshStore(): Promise<DynamoOrderStore> {
  tables += 1;
  const names = {
    orders: `${run}-orders-${tables}`,
    wakeups: `${run}-wakeups-${tables}`,
    merchants: `${run}-merchants-${tables}`,
  };
  await createTables(client, names);
  return new DynamoOrderStore(db, {
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
    const names = { ordersTable: `${run}-orders-${tables}`, wakeupsTable: `${run}-wakeups-${tables}` };
    await assert.rejects(dyingAt('advanceWatermark', names).listDue(iso(t0 + 80_000), 100), /killed/);
    assert.deepEqual(keys(await store.listDue(iso(t0 + 80_000), 100)), [order.mch_trade_id]);
  });

  it('ignores a wake-up whose order was never written (its create died after the wake-up)', async () => {
    const store = await freshStore();
    const order = openOrder(t0 + 75_000);
    const names = { ordersTable: `${run}-orders-${tables}`, wakeupsTable: `${run}-wakeups-${tables}` };
    await assert.rejects(dyingAt('putNewOrder', names).create(order), /killed/);
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
