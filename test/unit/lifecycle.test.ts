import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { StaleOrderError } from '#core/errors.ts';
import { applyChange, nextState, toState } from '#core/orders/changes.ts';
import { canTransition, isSettled, leaseProblem, type Order, type OrderState } from '#core/orders/order.ts';
import type { Ports } from '#core/ports.ts';
import { callLeaseEnd, hasLiveOwner, payLeaseEnd, startSettlement } from '#core/settlement/lease.ts';
import { sweepDueOrders } from '#core/settlement/sweep.ts';
import { memoryPorts, SimChannel } from '../support/memory.ts';

const t0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function order(state: OrderState, overrides: Partial<Order> = {}): Order {
  return {
    merchant_id: 'M1',
    mch_trade_id: `o-${state}`,
    trade_id: '0'.repeat(24),
    pay_type: 'wechat.micro',
    channel: 'wechat',
    total_fee: 1,
    ...toState(state),
    body: 'b',
    auth_code_masked: 'x',
    request_fingerprint: 'f',
    created_at: iso(t0),
    updated_at: iso(t0),
    settlement: [],
    ...(isSettled(state) ? {} : { settle_due_at: iso(t0 + 60_000) }),
    version: 1,
    ...overrides,
  };
}

const states: OrderState[] = [
  'CREATED',
  'PAYING',
  'PAID',
  'FAILED',
  'REVERSING',
  'REVERSED',
  'CLOSED',
  'REVERSE_FAILED',
];

describe('the lifecycle: which state may follow which (SPEC section 3)', () => {
  it('allows exactly these moves, and staying put', () => {
    const allowed = Object.fromEntries(
      states.map((from) => [from, states.filter((to) => to !== from && canTransition(order(from), to))]),
    );
    assert.deepEqual(allowed, {
      CREATED: ['PAYING', 'PAID', 'FAILED', 'REVERSING', 'REVERSED', 'CLOSED'],
      PAYING: ['PAID', 'FAILED', 'REVERSING', 'REVERSED', 'CLOSED'],
      PAID: ['REVERSING'],
      FAILED: [],
      REVERSING: ['FAILED', 'REVERSED', 'CLOSED', 'REVERSE_FAILED'],
      REVERSED: [],
      CLOSED: [],
      REVERSE_FAILED: ['REVERSING', 'REVERSED', 'CLOSED'],
    });
    for (const state of states) assert.equal(canTransition(order(state), state), true, state);
  });

  it('an order recorded paid can never be declared failed or closed', () => {
    const paid = { paid_at: iso(t0) };
    for (const from of ['CREATED', 'PAYING', 'REVERSING', 'REVERSE_FAILED'] as const) {
      assert.equal(canTransition(order(from, paid), 'FAILED'), false, from);
      assert.equal(canTransition(order(from, paid), 'CLOSED'), false, from);
      assert.equal(canTransition(order(from, paid), 'REVERSED'), true, from);
    }
  });

  it('the lease problem, both ways', () => {
    assert.equal(leaseProblem(order('PAYING')), undefined);
    assert.equal(leaseProblem(order('PAID')), undefined);
    assert.equal(
      leaseProblem(order('PAYING', { settle_due_at: undefined })),
      `order ${'0'.repeat(24)} would be PAYING without a settlement lease`,
    );
    assert.equal(
      leaseProblem(order('PAID', { settle_due_at: iso(t0) })),
      `order ${'0'.repeat(24)} would be PAID and still hold a settlement lease`,
    );
  });

  it('nextState keeps the order’s state when no state is given or the move is refused', () => {
    assert.equal(nextState(order('PAYING'), {}), 'PAYING');
    assert.equal(nextState(order('PAID'), toState('PAYING')), 'PAID');
    assert.equal(nextState(order('PAYING'), toState('PAID')), 'PAID');
  });
});

describe('applyChange: a write decided from the latest order', () => {
  it('retries a stale write on the order re-read, up to 64 tries (one writer wins each), then gives up', async () => {
    const { orders } = memoryPorts(new SimChannel('00'));
    const stored = order('PAYING');
    await orders.create(stored);
    let tries = 0;
    orders.update = async () => {
      tries += 1;
      throw new StaleOrderError('stale');
    };
    await assert.rejects(
      applyChange(orders, stored, () => ({ body: 'x' })),
      StaleOrderError,
    );
    assert.equal(tries, 64);
  });

  it('writes on the second try what the decision makes of the order it re-read', async () => {
    const { orders } = memoryPorts(new SimChannel('00'));
    const stored = order('PAYING');
    await orders.create(stored);
    const moved = await orders.update(stored, { body: 'moved' });
    const seen: string[] = [];
    const { order: saved, wrote } = await applyChange(orders, stored, (latest) => {
      seen.push(latest.body);
      return { attach: `after ${latest.body}` };
    });
    assert.deepEqual(seen, ['b', 'moved']);
    assert.equal(saved.version, moved.version + 1);
    assert.deepEqual(wrote, { attach: 'after moved' });
  });

  it('another error, or an order gone, is not retried', async () => {
    const { orders } = memoryPorts(new SimChannel('00'));
    const stored = order('PAYING');
    await orders.create(stored);
    let tries = 0;
    orders.update = async () => {
      tries += 1;
      throw new Error('down');
    };
    await assert.rejects(
      applyChange(orders, stored, () => ({ body: 'x' })),
      /down/,
    );
    assert.equal(tries, 1);
    orders.update = async () => {
      throw new StaleOrderError('stale');
    };
    orders.get = async () => undefined;
    await assert.rejects(
      applyChange(orders, stored, () => ({ body: 'x' })),
      StaleOrderError,
    );
  });

  it('drops a refused move but writes the rest; the lease follows the state that results', async () => {
    const { orders } = memoryPorts(new SimChannel('00'));
    const paid = order('PAID');
    await orders.create(paid);
    const { order: kept, wrote } = await applyChange(orders, paid, () => ({
      ...toState('PAYING'),
      attach: 'late',
    }));
    assert.deepEqual([kept.state, kept.attach, wrote], ['PAID', 'late', { attach: 'late' }]);
    const open = order('PAYING', { mch_trade_id: 'open' });
    await orders.create(open);
    // A change may move the lease, never remove it from an open order…
    const { order: still } = await applyChange(orders, open, () => ({ settle_due_at: undefined, body: 'x' }));
    assert.equal(still.settle_due_at, open.settle_due_at);
    // …and a move to a final state drops it.
    const { order: final } = await applyChange(orders, still, () => toState('PAID'));
    assert.equal(final.settle_due_at, undefined);
    const { wrote: none } = await applyChange(orders, final, () => undefined);
    assert.equal(none, undefined);
  });
});

describe('ownership: who is settling an order, and for how long', () => {
  it('an order has a live owner while its lease has not run out, and never once final', () => {
    assert.equal(hasLiveOwner(order('PAYING'), t0 + 59_999), true);
    assert.equal(hasLiveOwner(order('PAYING'), t0 + 60_000), false);
    assert.equal(hasLiveOwner(order('PAID'), t0), false);
    assert.equal(hasLiveOwner(order('REVERSE_FAILED'), t0), false);
  });

  it('leases: a call’s deadline and the grace after it; the pay call’s the same with its own deadline', () => {
    const ports = { deadlineScale: 0.5, leaseGraceMs: 1_000 };
    const protocol = new SimChannel('00').protocol;
    assert.equal(callLeaseEnd(ports, protocol, t0), t0 + protocol.callDeadlineMs / 2 + 1_000);
    assert.equal(callLeaseEnd(ports, undefined, t0), t0 + 1_000);
    assert.equal(payLeaseEnd(ports, protocol, t0), t0 + protocol.payDeadlineMs / 2 + 1_000);
  });

  it('a settlement that cannot start is left to the sweep: false, and a warning', async () => {
    const { ports } = memoryPorts(new SimChannel('00'));
    const warnings: string[] = [];
    const failing: Ports = {
      ...ports,
      workflow: {
        startSettlement: async () => {
          throw new Error('throttled');
        },
      },
      log: { ...ports.log, warn: (message) => warnings.push(message) },
    };
    assert.equal(await startSettlement(failing, order('PAYING', { settle_seq: 3 })), false);
    assert.equal(warnings.length, 1);
    const started: string[] = [];
    const working: Ports = {
      ...ports,
      workflow: { startSettlement: async (_input, name) => void started.push(name) },
    };
    assert.equal(await startSettlement(working, order('PAYING', { settle_seq: 3 })), true);
    assert.deepEqual(started, [`${'0'.repeat(24)}-3`]);
  });
});

describe('the sweep', () => {
  it('restarts an order whose lease ran out, even of a channel no longer configured', async () => {
    const { ports, orders, workflow, clock, telemetry } = memoryPorts(new SimChannel('00'));
    await orders.create(order('PAYING', { settle_seq: 1 }));
    clock.time = t0 + 61_000;
    const report = await sweepDueOrders({ ...ports, channels: { get: () => undefined } });
    assert.deepEqual(report, { open: 1, due: 1, started: 1 });
    const claimed = await orders.get({ merchant_id: 'M1', mch_trade_id: 'o-PAYING' });
    assert.deepEqual([claimed?.settle_seq, claimed?.settle_due_at], [2, iso(clock.time + 60_000)]);
    assert.deepEqual([...workflow.started.keys()], [`${'0'.repeat(24)}-2`]);
    assert.deepEqual(telemetry.restarts, ['0'.repeat(24)]);
    assert.deepEqual(telemetry.openAges, [[61_000]]);
  });

  it('an order that keeps changing under it is left for the next sweep; the others are still restarted', async () => {
    const { ports, orders, workflow, clock } = memoryPorts(new SimChannel('00'));
    await orders.create(order('PAYING', { mch_trade_id: 'busy', trade_id: '1'.repeat(24) }));
    await orders.create(order('PAYING', { mch_trade_id: 'calm', trade_id: '2'.repeat(24) }));
    clock.time = t0 + 61_000;
    const update = orders.update.bind(orders);
    orders.update = async (o, changes, attempts) => {
      if (o.mch_trade_id === 'busy') throw new StaleOrderError('stale');
      return update(o, changes, attempts);
    };
    const report = await sweepDueOrders(ports);
    assert.equal(report.started, 1);
    assert.deepEqual([...workflow.started.keys()], [`${'2'.repeat(24)}-1`]);
  });

  it('passes over a due order that is gone, or that became final after it was listed', async () => {
    const { ports, orders, workflow, clock } = memoryPorts(new SimChannel('00'));
    const open = order('PAYING', { mch_trade_id: 'open', trade_id: '3'.repeat(24) });
    const paid = order('PAID', { mch_trade_id: 'paid', trade_id: '4'.repeat(24) });
    await orders.create(open);
    await orders.create(paid);
    clock.time = t0 + 61_000;
    const listing: Ports = {
      ...ports,
      orders: Object.assign(Object.create(orders), {
        listDue: async () => ({
          due: [
            { merchant_id: 'M1', mch_trade_id: 'gone' },
            { merchant_id: 'M1', mch_trade_id: 'paid' },
            { merchant_id: 'M1', mch_trade_id: 'open' },
          ],
          openCreatedAt: [],
        }),
      }),
    };
    const report = await sweepDueOrders(listing);
    assert.deepEqual(report, { open: 0, due: 3, started: 1 });
    assert.deepEqual([...workflow.started.keys()], [`${'3'.repeat(24)}-1`]);
    const after = await orders.get({ merchant_id: 'M1', mch_trade_id: 'paid' });
    assert.equal(after?.version, 1);
  });

  it('an error other than a conflict stops the sweep (its process dies; the next sweep goes on)', async () => {
    const { ports, orders, clock } = memoryPorts(new SimChannel('00'));
    await orders.create(order('PAYING'));
    clock.time = t0 + 61_000;
    orders.update = async () => {
      throw new Error('down');
    };
    await assert.rejects(sweepDueOrders(ports), /down/);
  });
});
