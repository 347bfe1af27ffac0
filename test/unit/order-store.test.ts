import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { TableOrderStore } from '#adapters/table-order-store.ts';
import { StaleOrderError } from '#core/errors.ts';
import { newTradeId } from '#core/ids.ts';
import { toState } from '#core/orders/changes.ts';
import type { Order } from '#core/orders/order.ts';
import { MemoryOrderTables } from '../support/memory.ts';

const t0 = Date.parse('2026-03-01T08:00:30.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function order(id: string, overrides: Partial<Order> = {}): Order {
  return {
    merchant_id: 'M1',
    mch_trade_id: id,
    trade_id: newTradeId(t0, 'M1', id),
    pay_type: 'wechat.micro',
    channel: 'wechat',
    total_fee: 1,
    ...toState('PAYING'),
    body: 'b',
    auth_code_masked: 'x',
    request_fingerprint: 'f',
    create_token: `token-${id}`,
    created_at: iso(t0),
    updated_at: iso(t0),
    settlement: [],
    settle_seq: 0,
    settle_due_at: iso(t0 + 75_000),
    version: 1,
    ...overrides,
  };
}

function store(options: { shards?: number } = {}) {
  const tables = new MemoryOrderTables();
  const clock = { time: t0 };
  const orders = new TableOrderStore(tables, { now: () => clock.time, recheckAfterMs: 60_000, ...options });
  const wakeups = () =>
    [...tables.wakeups.values()]
      .flatMap((bucket) => [...bucket.values()])
      .sort((a, b) => (a.due < b.due ? -1 : 1));
  return { orders, tables, clock, wakeups };
}

describe('the order store: orders, their wake-ups and the sweep’s watermark (TableOrderStore)', () => {
  it('writes a wake-up at the lease’s end before the order, kept 7 days past it', async () => {
    const { orders, wakeups } = store();
    const created = order('c-1');
    assert.deepEqual(await orders.create(created), { created: true });
    const [wakeup] = wakeups();
    assert.ok(wakeup);
    assert.ok(wakeup.due.startsWith(`${created.settle_due_at}#M1/`));
    assert.ok(wakeup.due.endsWith('#token-c-1'));
    assert.equal(wakeup.bucket.slice(0, 16), created.settle_due_at?.slice(0, 16));
    assert.equal(wakeup.expires_at, (t0 + 75_000) / 1000 + 7 * 24 * 3600);
  });

  it('a creation that finds the order there answers it, and takes back only its own wake-up', async () => {
    const { orders, wakeups } = store();
    await orders.create(order('c-2'));
    const again = await orders.create(order('c-2', { create_token: 'token-other' }));
    assert.equal(again.created, false);
    assert.ok(!again.created && again.existing.create_token === 'token-c-2');
    assert.equal(wakeups().length, 1);
    assert.ok(wakeups()[0]?.due.endsWith('#token-c-2'));
  });

  it('refuses to read or create over another merchant’s order under the same key', async () => {
    const { orders, tables } = store();
    await orders.create(order('c-3'));
    const [[key, stored]] = [...tables.orders] as [[string, Order]];
    tables.orders.set(key, { ...stored, merchant_id: 'M2' });
    await assert.rejects(orders.create(order('c-3')), /taken by another merchant/);
    assert.equal(await orders.get({ merchant_id: 'M1', mch_trade_id: 'c-3' }), undefined);
    tables.orders.set(key, { ...stored, mch_trade_id: 'colliding' });
    assert.equal(await orders.get({ merchant_id: 'M1', mch_trade_id: 'c-3' }), undefined);
  });

  it('finds an order by its trade_id, only the merchant’s own, never by a malformed one', async () => {
    const { orders } = store();
    const created = order('f-1');
    await orders.create(created);
    assert.equal((await orders.findByTradeId('M1', created.trade_id))?.mch_trade_id, 'f-1');
    assert.equal(await orders.findByTradeId('M2', created.trade_id), undefined);
    assert.equal(await orders.findByTradeId('M1', 'not-a-trade-id'), undefined);
    assert.equal(
      await orders.findByTradeId('M1', `${created.trade_id.slice(0, 8)}${'0'.repeat(16)}`),
      undefined,
    );
  });

  it('an update: conditional on version, which it bumps; appends attempts; removes what is set undefined', async () => {
    const { orders, clock } = store();
    const created = order('u-1', { err_code: 'X' });
    await orders.create(created);
    clock.time += 5_000;
    const attempt = { at: iso(clock.time), action: 'query' as const, result: 'USERPAYING' };
    const next = await orders.update(created, { err_code: undefined, merchant_id: 'M9' }, [attempt]);
    assert.equal(next.version, 2);
    assert.equal(next.updated_at, iso(clock.time));
    assert.equal('err_code' in next, false);
    assert.equal(next.merchant_id, 'M1');
    assert.deepEqual(next.settlement, [attempt]);
    assert.deepEqual(await orders.get(created), next);
    await assert.rejects(
      orders.update(created, { body: 'late' }),
      (e: Error) =>
        e instanceof StaleOrderError && e.message === `order ${created.trade_id} changed since version 1`,
    );
    const unchanged = await orders.update(next, {});
    assert.deepEqual(unchanged.settlement, [attempt]);
  });

  it('refuses a write that would leave an open order without a lease, or a final one with it', async () => {
    const { orders } = store();
    await assert.rejects(
      orders.create(order('l-1', { settle_due_at: undefined })),
      /without a settlement lease/,
    );
    const open = order('l-2');
    await orders.create(open);
    await assert.rejects(orders.update(open, { settle_due_at: undefined }), /without a settlement lease/);
    await assert.rejects(orders.update(open, toState('PAID')), /still hold a settlement lease/);
  });

  it('a final order reopened with a lease gets a wake-up before the write', async () => {
    const { orders, wakeups, clock } = store();
    const created = order('r-1');
    await orders.create(created);
    const final = await orders.update(created, { ...toState('REVERSE_FAILED'), settle_due_at: undefined });
    clock.time += 3_600_000;
    const lease = iso(clock.time + 70_000);
    await orders.update(final, { ...toState('REVERSING'), settle_due_at: lease });
    assert.ok(wakeups().some((w) => w.due.startsWith(`${lease}#`)));
    // An update that only moves a lease it already had writes none.
    const count = wakeups().length;
    const reopened = await orders.get(created);
    assert.ok(reopened);
    await orders.update(reopened, { settle_due_at: iso(clock.time + 90_000) });
    assert.equal(wakeups().length, count);
  });
});

describe('the sweep’s look at due orders (listDue)', () => {
  it('lists an order once its lease ran out and wakes it again a recheck later; one still leased waits', async () => {
    const { orders, wakeups } = store();
    await orders.create(order('d-1'));
    await orders.create(order('d-2', { settle_due_at: iso(t0 + 300_000) }));
    const early = await orders.listDue(iso(t0 + 74_999), 100);
    assert.deepEqual(early.due, []);
    const first = await orders.listDue(iso(t0 + 75_000), 100);
    assert.deepEqual(first.due, [{ merchant_id: 'M1', mch_trade_id: 'd-1' }]);
    assert.deepEqual(first.openCreatedAt, [iso(t0)]);
    assert.ok(wakeups().some((w) => w.due.startsWith(`${iso(t0 + 135_000)}#`)));
    // Still open a recheck later, it is listed again.
    const later = await orders.listDue(iso(t0 + 135_000), 100);
    assert.deepEqual(later.due, [{ merchant_id: 'M1', mch_trade_id: 'd-1' }]);
  });

  it('a wake-up of an order that moved its lease on writes the next at the new lease, and lists nothing', async () => {
    const { orders, wakeups } = store();
    const created = order('m-1');
    await orders.create(created);
    await orders.update(created, { settle_due_at: iso(t0 + 200_000) });
    const look = await orders.listDue(iso(t0 + 80_000), 100);
    assert.deepEqual(look.due, []);
    assert.deepEqual(look.openCreatedAt, [iso(t0)]);
    assert.ok(wakeups().some((w) => w.due.startsWith(`${iso(t0 + 200_000)}#`)));
  });

  it('a final order’s wake-up is passed over; the watermark moves to now', async () => {
    const { orders, tables } = store();
    const created = order('w-1');
    await orders.create(created);
    await orders.update(created, { ...toState('PAID'), settle_due_at: undefined });
    const look = await orders.listDue(iso(t0 + 80_000), 100);
    assert.deepEqual([look.due, look.openCreatedAt], [[], []]);
    assert.equal(tables.reached, iso(t0 + 80_000));
  });

  it('a first sweep looks back ten minutes; later ones start at the watermark', async () => {
    const { orders } = store();
    await orders.create(order('b-1', { settle_due_at: iso(t0 - 11 * 60_000) }));
    await orders.create(order('b-2', { settle_due_at: iso(t0 - 9 * 60_000) }));
    const first = await orders.listDue(iso(t0), 100);
    assert.deepEqual(
      first.due.map((k) => k.mch_trade_id),
      ['b-2'],
    );
    const second = await orders.listDue(iso(t0 + 1_000), 100);
    assert.deepEqual(second.due, []);
  });

  it('stops after the minute in which it found `limit` due orders, and the next look goes on from there', async () => {
    const { orders, tables } = store();
    for (const [i, id] of ['s-1', 's-2', 's-3'].entries()) {
      await orders.create(order(id, { settle_due_at: iso(t0 - (5 - i) * 60_000) }));
    }
    const first = await orders.listDue(iso(t0), 1);
    assert.deepEqual(
      first.due.map((k) => k.mch_trade_id),
      ['s-1'],
    );
    assert.equal(tables.reached, `${iso(t0 - 5 * 60_000).slice(0, 16)}:59.999Z`);
    const second = await orders.listDue(iso(t0), 2);
    assert.deepEqual(
      second.due.map((k) => k.mch_trade_id),
      ['s-2', 's-3'],
    );
  });

  it('a sweep far behind catches up an hour a run', async () => {
    const { orders, tables } = store();
    await orders.listDue(iso(t0), 100);
    const late = t0 + 3 * 3_600_000;
    await orders.create(order('h-1', { settle_due_at: iso(late - 60_000) }));
    const first = await orders.listDue(iso(late), 100);
    assert.deepEqual(first.due, []);
    assert.equal(tables.reached, `${iso(t0 + 59 * 60_000).slice(0, 16)}:59.999Z`);
    // Each run starts at the minute the watermark is in: 08:59–09:58, then 09:58–10:57, then 10:57 on.
    await orders.listDue(iso(late), 100);
    assert.equal(tables.reached, `${iso(t0 + 118 * 60_000).slice(0, 16)}:59.999Z`);
    assert.deepEqual((await orders.listDue(iso(late), 100)).due, []);
    const fourth = await orders.listDue(iso(late), 100);
    assert.deepEqual(
      fourth.due.map((k) => k.mch_trade_id),
      ['h-1'],
    );
    assert.equal(tables.reached, iso(late));
  });

  it('spreads wake-ups over its shards, and finds them in every shard', async () => {
    const { orders, wakeups } = store();
    const ids = Array.from({ length: 200 }, (_, i) => `spread-${i}`);
    for (const id of ids) await orders.create(order(id));
    const perShard = new Map<string, number>();
    for (const w of wakeups()) perShard.set(w.bucket.slice(-1), (perShard.get(w.bucket.slice(-1)) ?? 0) + 1);
    assert.deepEqual([...perShard.keys()].sort(), ['0', '1', '2', '3']);
    for (const [shard, count] of perShard) assert.ok(count >= 25, `shard ${shard}: ${count}`);
    const look = await orders.listDue(iso(t0 + 75_000), 1_000);
    assert.equal(look.due.length, 200);
  });
});

describe('the order store at its edges', () => {
  it('a final order created twice answers the first, with no wake-up to take back', async () => {
    const { orders, wakeups } = store();
    const paid = order('e-1', { ...toState('PAID'), settle_due_at: undefined });
    await orders.create(paid);
    const again = await orders.create(paid);
    assert.equal(again.created, false);
    assert.deepEqual(wakeups(), []);
  });

  it('a key taken, then gone before it is read, is no order of ours', async () => {
    const { orders, tables } = store();
    tables.putNewOrder = async () => false;
    tables.getOrder = async () => undefined;
    await assert.rejects(orders.create(order('e-2')), /taken by another merchant/);
  });

  it('a trade_id with this order’s hash but another time is not this order', async () => {
    const { orders } = store();
    const created = order('e-3');
    await orders.create(created);
    assert.equal(await orders.findByTradeId('M1', `00000000${created.trade_id.slice(8)}`), undefined);
  });

  it('an order with several wake-ups due in one look is looked at once', async () => {
    const { orders, tables, wakeups } = store();
    const created = order('e-4', { settle_due_at: iso(t0 - 30_000) });
    await orders.create(created);
    // Another wake-up for it a minute earlier, as a recheck would have written.
    const [first] = wakeups();
    assert.ok(first);
    const earlier = iso(t0 - 90_000);
    await tables.putWakeup({
      ...first,
      bucket: `${earlier.slice(0, 16)}#${first.bucket.slice(-1)}`,
      due: `${earlier}#${first.order_key}`,
    });
    const before = wakeups().length;
    const look = await orders.listDue(iso(t0), 100);
    assert.deepEqual(
      look.due.map((k) => k.mch_trade_id),
      ['e-4'],
    );
    assert.equal(look.openCreatedAt.length, 1);
    // One next wake-up, at now + the recheck, written as the sweep writes them (no writer's token).
    assert.equal(wakeups().length, before + 1);
    assert.ok(wakeups().some((w) => w.due === `${iso(t0 + 60_000)}#${w.order_key}`));
  });

  it('a wake-up whose order is gone is passed over', async () => {
    const { orders, tables } = store();
    await tables.putWakeup({
      bucket: `${iso(t0 - 30_000).slice(0, 16)}#0`,
      due: `${iso(t0 - 30_000)}#M1/gone`,
      order_key: 'M1/gone',
      expires_at: 0,
    });
    const look = await orders.listDue(iso(t0), 100);
    assert.deepEqual([look.due, look.openCreatedAt], [[], []]);
  });
});
