import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { Channel, QueryResult, ReverseResult, SettlementProtocol } from '#core/channels/channel.ts';
import { verifyAnswer } from '#core/channels/verified.ts';
import { wechatProtocol } from '#core/channels/wechat/protocol.ts';
import { StaleOrderError } from '#core/errors.ts';
import { toState } from '#core/orders/changes.ts';
import { leaseProblem, type Order, type SettlementAttempt, toMerchantView } from '#core/orders/order.ts';
import type { OrderKey, OrderStore, Ports } from '#core/ports.ts';
import { runSettlementStep } from '#core/settlement/step.ts';
import { RecordingTelemetry } from '../support/memory.ts';

const t0 = Date.parse('2026-01-01T00:00:00.000Z');

class FakeOrders implements OrderStore {
  order: Order;
  constructor(order: Order) {
    this.order = order;
  }
  async create(): Promise<{ created: true }> {
    return { created: true };
  }
  async get(_key: OrderKey) {
    return this.order;
  }
  async findByTradeId() {
    return this.order;
  }
  async update(
    order: Order,
    changes: Partial<Order>,
    attempts: readonly SettlementAttempt[] = [],
  ): Promise<Order> {
    if (order.version !== this.order.version) throw new StaleOrderError('stale');
    const next = {
      ...this.order,
      ...changes,
      version: order.version + 1,
      settlement: [...this.order.settlement, ...attempts],
    };
    const problem = leaseProblem(next);
    if (problem) throw new Error(problem);
    this.order = next;
    return this.order;
  }
  async listDue() {
    return { due: [], openCreatedAt: [] };
  }
}

function fakeChannel(queries: QueryResult[], reverses: ReverseResult[], protocol = wechatProtocol) {
  const calls: string[] = [];
  const channel: Channel = {
    name: 'wechat',
    protocol,
    validateSetup: () => [],
    pay: async () => ({ kind: 'unknown', word: 'TIMEOUT' }),
    query: async () => {
      calls.push('query');
      return queries.shift() ?? { kind: 'pending', word: 'USERPAYING' };
    },
    reverse: async () => {
      calls.push('reverse');
      return reverses.shift() ?? { kind: 'retry', word: 'SYSTEMERROR recall=Y' };
    },
  };
  return { channel, calls };
}

function setup(queries: QueryResult[] = [], reverses: ReverseResult[] = [], protocol = wechatProtocol) {
  const clock = { time: t0 + 1_000 };
  const orders = new FakeOrders({
    merchant_id: 'M1',
    mch_trade_id: 'order-1',
    trade_id: '0'.repeat(24),
    pay_type: 'wechat.micro',
    channel: 'wechat',
    total_fee: 1,
    ...toState('PAYING'),
    body: 'b',
    auth_code_masked: '1345**********6701',
    request_fingerprint: 'f',
    created_at: new Date(t0).toISOString(),
    updated_at: new Date(t0).toISOString(),
    settlement: [],
    settle_seq: 1,
    settle_due_at: new Date(t0 + 60_000).toISOString(),
    pay_sent_at: new Date(t0).toISOString(),
    version: 2,
  });
  const { channel, calls } = fakeChannel(queries, reverses, protocol);
  const telemetry = new RecordingTelemetry();
  const alarms = telemetry.reverseFailures;
  const ports: Ports = {
    orders,
    merchants: {
      get: async () => ({
        merchant_id: 'M1',
        status: 0,
        pay_types: { 'wechat.micro': { channel: 'wechat', account: { appid: 'wx', mch_id: '1' } } },
        secret: { api_key: 'k'.repeat(16), channels: { wechat: { api_key: 'w'.repeat(32) } } },
      }),
    },
    channels: { get: () => channel },
    workflow: { startSettlement: async () => {} },
    clock: { now: () => clock.time },
    telemetry,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    timeScale: 1,
    deadlineScale: 1,
    leaseGraceMs: 60_000,
  };
  const input = { merchant_id: 'M1', mch_trade_id: 'order-1', trade_id: '0'.repeat(24), seq: 1 };
  return { ports, orders, calls, clock, alarms, telemetry, input };
}

describe('settlement step (WeChat protocol table)', () => {
  it('plans the first query 5 s after it begins, and moves the lease past it', async () => {
    const { ports, orders, input } = setup();
    const plan = await runSettlementStep(ports, { ...input, action: 'begin' });
    assert.equal(plan.next, 'query');
    assert.equal(plan.at, new Date(t0 + 1_000 + 5_000).toISOString());
    assert.equal(orders.order.settle_due_at, new Date(t0 + 6_000 + 10_000 + 60_000).toISOString());
  });

  it('scales waits by the time scale and call deadlines (and the leases over them) by the deadline scale', async () => {
    const base = setup();
    const deadlines: number[] = [];
    const channel: Channel = {
      ...base.ports.channels.get('wechat'),
      query: async (_ctx, _order, deadlineMs) => {
        deadlines.push(deadlineMs);
        return { kind: 'pending', word: 'USERPAYING' };
      },
    } as Channel;
    const ports: Ports = {
      ...base.ports,
      channels: { get: () => channel },
      timeScale: 0.1,
      deadlineScale: 0.5,
    };
    const plan = await runSettlementStep(ports, { ...base.input, action: 'begin' });
    // The first query 5 s × 0.1 after the step; the lease past it by the 10 s deadline × 0.5 and the grace.
    assert.equal(plan.at, new Date(t0 + 1_000 + 500).toISOString());
    assert.equal(base.orders.order.settle_due_at, new Date(t0 + 1_500 + 5_000 + 60_000).toISOString());
    base.clock.time = t0 + 1_500;
    const next = await runSettlementStep(ports, { ...base.input, action: 'query', plan, seq: plan.seq });
    assert.deepEqual(deadlines, [5_000]);
    assert.equal(next.at, new Date(t0 + 1_500 + 500).toISOString());
  });

  it('queries 6 times 5 s apart, then reverses no earlier than 15 s after the order', async () => {
    const { ports, orders, calls, clock, input } = setup();
    let plan = await runSettlementStep(ports, { ...input, action: 'begin' });
    const queryTimes: string[] = [];
    while (plan.next === 'query') {
      clock.time = Date.parse(plan.at);
      queryTimes.push(plan.at);
      plan = await runSettlementStep(ports, { ...input, action: 'query', plan, seq: plan.seq });
    }
    assert.equal(calls.filter((c) => c === 'query').length, 6);
    assert.deepEqual(
      queryTimes.map((at) => (Date.parse(at) - t0) / 1000),
      [6, 11, 16, 21, 26, 31],
    );
    assert.equal(plan.next, 'reverse');
    assert.equal(orders.order.state, 'REVERSING');
    assert.ok(Date.parse(plan.at) >= t0 + 15_000);
  });

  it('a settlement started afresh goes on from the queries the order records: six in all, not six more', async () => {
    const { ports, orders, calls, clock, input } = setup();
    const recorded = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        at: new Date(t0 + 6_000 + i * 5_000).toISOString(),
        action: 'query' as const,
        result: 'USERPAYING',
      }));
    // The settlement that made four queries died; the sweep's restart begins without its plan.
    orders.order = { ...orders.order, settlement: recorded(4) };
    clock.time = t0 + 30_000;
    let plan = await runSettlementStep(ports, { ...input, action: 'begin' });
    while (plan.next === 'query') {
      clock.time = Date.parse(plan.at);
      plan = await runSettlementStep(ports, { ...input, action: 'query', plan, seq: plan.seq });
    }
    assert.equal(calls.filter((c) => c === 'query').length, 2);
    assert.equal(plan.next, 'reverse');
    // With all six recorded, the restart reverses without asking again.
    const again = setup();
    again.orders.order = { ...again.orders.order, settlement: recorded(6) };
    again.clock.time = t0 + 40_000;
    const next = await runSettlementStep(again.ports, { ...again.input, action: 'begin' });
    assert.equal(next.next, 'reverse');
    assert.deepEqual(again.calls, []);
  });

  it('waits until 15 s after the order before the first reverse call', async () => {
    const { ports, orders, calls, clock, input } = setup();
    orders.order = { ...orders.order, ...toState('REVERSING') };
    clock.time = t0 + 2_000;
    const plan = await runSettlementStep(ports, { ...input, action: 'reverse' });
    assert.deepEqual(calls, []);
    assert.equal(plan.next, 'reverse');
    assert.equal(plan.at, new Date(t0 + 15_000).toISOString());
  });

  it('counts the 15 s floor from a slow pay answer: paid 12 s after the request, reversed 15 s after that', async () => {
    const { ports, orders, calls, clock, input } = setup();
    const answeredAt = t0 + 12_000;
    orders.order = {
      ...orders.order,
      ...toState('REVERSING'),
      paid_at: new Date(answeredAt).toISOString(),
      settlement: [{ at: new Date(answeredAt).toISOString(), action: 'pay', result: 'SUCCESS' }],
    };
    clock.time = t0 + 15_500;
    const plan = await runSettlementStep(ports, { ...input, action: 'reverse' });
    assert.deepEqual(calls, []);
    assert.equal(plan.at, new Date(answeredAt + 15_000).toISOString());
    clock.time = answeredAt + 15_000;
    await runSettlementStep(ports, { ...input, action: 'reverse', plan, seq: plan.seq });
    assert.deepEqual(calls, ['reverse']);
  });

  it('counts the floor from the payment’s own time_end, to the end of its second, never past when it was recorded', async () => {
    const { ports, orders, calls, clock, input } = setup();
    // A query at 21 s found the payment made at 18.x s (time_end has whole seconds).
    const timeEnd = (t0 + 18_000) / 1000;
    orders.order = {
      ...orders.order,
      ...toState('REVERSING'),
      time_end: timeEnd,
      paid_at: new Date(t0 + 21_000).toISOString(),
      settlement: [{ at: new Date(t0 + 500).toISOString(), action: 'pay', result: 'USERPAYING' }],
    };
    clock.time = t0 + 21_000;
    let plan = await runSettlementStep(ports, { ...input, action: 'reverse' });
    assert.equal(plan.at, new Date(t0 + 19_000 + 15_000).toISOString());
    // A channel clock ahead of ours counts only up to when we recorded the payment.
    orders.order = { ...orders.order, time_end: timeEnd + 3_600 };
    plan = await runSettlementStep(ports, { ...input, action: 'reverse', seq: plan.seq });
    assert.equal(plan.at, new Date(t0 + 21_000 + 15_000).toISOString());
    assert.deepEqual(calls, []);
  });

  it('repeats reverse with backoff while recall=Y, then gives up: REVERSE_FAILED, one alarm', async () => {
    const { ports, orders, calls, clock, alarms, input } = setup();
    orders.order = { ...orders.order, ...toState('REVERSING') };
    clock.time = t0 + 20_000;
    let plan = await runSettlementStep(ports, { ...input, action: 'reverse' });
    const gaps: number[] = [];
    while (plan.next === 'reverse') {
      gaps.push(Date.parse(plan.at) - clock.time);
      clock.time = Date.parse(plan.at);
      plan = await runSettlementStep(ports, { ...input, action: 'reverse', plan, seq: plan.seq });
    }
    assert.deepEqual(gaps, wechatProtocol.reverseRetryDelaysMs);
    assert.equal(calls.length, wechatProtocol.reverseRetryDelaysMs.length + 1);
    assert.equal(plan.next, 'give_up');
    const final = await runSettlementStep(ports, { ...input, action: 'give_up', plan, seq: plan.seq });
    assert.equal(final.next, 'failed');
    assert.equal(orders.order.state, 'REVERSE_FAILED');
    assert.equal(orders.order.trade_state, 5);
    assert.equal(orders.order.settle_due_at, undefined);
    assert.deepEqual(alarms, [input.trade_id]);
  });

  it('ends at once when a query finds the payment made', async () => {
    const details = { out_trade_id: '4200', time_end: 1_767_225_600 };
    const checked = verifyAnswer({}, { authenticity: () => 'signature', mismatch: () => undefined });
    assert.ok(checked.ok);
    const { ports, orders, input } = setup([
      { kind: 'paid', details, refunded: false, word: 'SUCCESS', proof: checked.verified },
    ]);
    const plan = await runSettlementStep(ports, { ...input, action: 'query' });
    assert.equal(plan.next, 'done');
    assert.equal(orders.order.state, 'PAID');
    assert.equal(orders.order.out_trade_id, '4200');
  });

  it('a query that finds the payment refunded keeps the payment record and reports trade_state 1', async () => {
    const checked = verifyAnswer({}, { authenticity: () => 'signature', mismatch: () => undefined });
    assert.ok(checked.ok);
    const details = { out_trade_id: '4200', time_end: 1_767_225_600 };
    const { ports, orders, input } = setup([
      { kind: 'paid', details, refunded: true, word: 'REFUND', proof: checked.verified },
    ]);
    const plan = await runSettlementStep(ports, { ...input, action: 'query' });
    assert.equal(plan.next, 'done');
    assert.deepEqual([orders.order.state, orders.order.trade_state], ['PAID', 1]);
    assert.equal(orders.order.out_trade_id, '4200');
    assert.ok(orders.order.refund_noted_at);
    assert.equal(toMerchantView(orders.order).trade_state, 1);
  });

  it('a step of a superseded settlement stops without calling the channel', async () => {
    const { ports, calls, input } = setup();
    const plan = await runSettlementStep(ports, { ...input, seq: 0, action: 'query' });
    assert.equal(plan.next, 'done');
    assert.deepEqual(calls, []);
  });

  it('never lets a late "still paying" answer overwrite an order that was paid meanwhile', async () => {
    const { ports, orders, input } = setup();
    const original = ports.channels.get('wechat') as Channel;
    ports.channels.get = () => ({
      ...original,
      query: async () => {
        // Another writer records the payment while this query is in flight.
        orders.order = { ...orders.order, ...toState('PAID'), version: orders.order.version + 1 };
        return { kind: 'pending', word: 'USERPAYING' };
      },
    });
    let plan = await runSettlementStep(ports, { ...input, action: 'query' });
    // A "still paying" answer is not written on its own; the next step finds the order paid and ends.
    if (plan.next === 'query')
      plan = await runSettlementStep(ports, { ...input, action: 'query', plan, seq: plan.seq });
    assert.equal(orders.order.state, 'PAID');
    assert.equal(plan.next, 'done');
    assert.equal(orders.order.settlement.at(-1)?.result, 'USERPAYING');
  });

  it('writes nothing for a query that finds the payment still open, and records it with the next write', async () => {
    const { ports, orders, clock, input } = setup();
    let plan = await runSettlementStep(ports, { ...input, action: 'begin' });
    const versions: number[] = [];
    while (plan.next === 'query') {
      clock.time = Date.parse(plan.at);
      const before = orders.order.version;
      plan = await runSettlementStep(ports, { ...input, action: 'query', plan, seq: plan.seq });
      versions.push(orders.order.version - before);
    }
    // One write per query (its claim), and one more for the last, which moves the order to REVERSING.
    assert.deepEqual(versions, [1, 1, 1, 1, 1, 2]);
    assert.deepEqual(
      orders.order.settlement.map((a) => `${a.action}:${a.result}`),
      Array(6).fill('query:USERPAYING'),
    );
  });
});

describe('settlement step (a protocol table with a schedule per pay answer and a query window)', () => {
  const protocol: SettlementProtocol = {
    ...wechatProtocol,
    scheduleAfter: { '201': { firstQueryDelayMs: 10_000, queryIntervalMs: 10_000 } },
    queryWindowMs: 30_000,
  };

  function queryTimesAfter(payAnswer: string) {
    const ctx = setup([], [], protocol);
    ctx.orders.order = {
      ...ctx.orders.order,
      settlement: [{ at: new Date(t0).toISOString(), action: 'pay', result: payAnswer }],
    };
    return ctx;
  }

  async function run(ctx: ReturnType<typeof setup>) {
    const { ports, clock, input } = ctx;
    let plan = await runSettlementStep(ports, { ...input, action: 'begin' });
    const times: number[] = [];
    while (plan.next === 'query') {
      clock.time = Date.parse(plan.at);
      times.push((clock.time - t0) / 1000);
      plan = await runSettlementStep(ports, { ...input, action: 'query', plan, seq: plan.seq });
    }
    return { times, plan };
  }

  it('after the answer the table names, queries on that schedule, the last on the window’s end', async () => {
    const { times, plan } = await run(queryTimesAfter('201'));
    assert.deepEqual(times, [11, 21, 30]);
    assert.equal(plan.next, 'reverse');
  });

  it('after any other answer, queries on the default schedule, the last on the window’s end', async () => {
    const { times, plan } = await run(queryTimesAfter('40400'));
    assert.deepEqual(times, [6, 11, 16, 21, 26, 30]);
    assert.equal(plan.next, 'reverse');
  });
});
