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
  async bindRefundNumber(): Promise<never> {
    throw new Error('no refunds in these tests');
  }
  async findRefundBinding() {
    return undefined;
  }
  async unbindRefundNumber() {}
}

function fakeChannel(queries: QueryResult[], reverses: ReverseResult[], protocol = wechatProtocol) {
  const calls: string[] = [];
  const channel: Channel = {
    name: 'wechat',
    protocol,
    pay: async () => ({ kind: 'unknown', said: 'TIMEOUT' }),
    query: async () => {
      calls.push('query');
      return queries.shift() ?? { kind: 'pending', said: 'USERPAYING' };
    },
    reverse: async () => {
      calls.push('reverse');
      return reverses.shift() ?? { kind: 'retry', said: 'SYSTEMERROR recall=Y' };
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
        return { kind: 'pending', said: 'USERPAYING' };
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
      { kind: 'paid', details, refunded: false, said: 'SUCCESS', proof: checked.verified },
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
      { kind: 'paid', details, refunded: true, said: 'REFUND', proof: checked.verified },
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
        return { kind: 'pending', said: 'USERPAYING' };
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

  it('with no pay answer recorded (the submit died), queries on the default schedule from now, not from a query', async () => {
    const ctx = setup([], [], { ...protocol, queriesFromPayAnswer: true });
    ctx.orders.order = {
      ...ctx.orders.order,
      settlement: [{ at: new Date(t0).toISOString(), action: 'query', result: '201' }],
    };
    ctx.clock.time = t0 + 2_000;
    const plan = await runSettlementStep(ctx.ports, { ...ctx.input, action: 'begin' });
    assert.deepEqual([plan.next, plan.at], ['query', new Date(t0 + 7_000).toISOString()]);
  });

  it('after any other answer, queries on the default schedule, the last on the window’s end', async () => {
    const { times, plan } = await run(queryTimesAfter('40400'));
    assert.deepEqual(times, [6, 11, 16, 21, 26, 30]);
    assert.equal(plan.next, 'reverse');
  });
});

describe('settlement step: each branch, and what it writes', () => {
  const proof = () => {
    const checked = verifyAnswer({}, { authenticity: () => 'signature', mismatch: () => undefined });
    assert.ok(checked.ok);
    return checked.verified;
  };

  it('fails loudly for an order that is not there, a channel not configured, a merchant or route gone', async () => {
    const missing = setup();
    missing.orders.get = async () => undefined as unknown as Order;
    await assert.rejects(
      runSettlementStep(missing.ports, { ...missing.input, action: 'begin' }),
      /order 0{24} not found/,
    );
    const noChannel = setup();
    await assert.rejects(
      runSettlementStep(
        { ...noChannel.ports, channels: { get: () => undefined } },
        { ...noChannel.input, action: 'begin' },
      ),
      /channel wechat is not configured/,
    );
    const noMerchant = setup();
    await assert.rejects(
      runSettlementStep(
        { ...noMerchant.ports, merchants: { get: async () => undefined } },
        { ...noMerchant.input, action: 'query' },
      ),
      /merchant M1 has no route for wechat.micro/,
    );
    const noRoute = setup();
    const merchant = await noRoute.ports.merchants.get('M1');
    assert.ok(merchant);
    await assert.rejects(
      runSettlementStep(
        { ...noRoute.ports, merchants: { get: async () => ({ ...merchant, pay_types: {} }) } },
        { ...noRoute.input, action: 'query' },
      ),
      /has no route/,
    );
  });

  it('an error that is not a newer claim is not swallowed', async () => {
    const { ports, orders, input } = setup();
    orders.update = async () => {
      throw new Error('DynamoDB is down');
    };
    await assert.rejects(runSettlementStep(ports, { ...input, action: 'query' }), /DynamoDB is down/);
  });

  it('a superseded step stops before anything: no call, and not even the attempts it carries are written', async () => {
    const { ports, orders, calls, input } = setup();
    const carried = [{ at: new Date(t0).toISOString(), action: 'query' as const, result: 'USERPAYING' }];
    const before = orders.order.version;
    for (const action of ['begin', 'query', 'reverse', 'give_up'] as const) {
      const plan = await runSettlementStep(ports, {
        ...input,
        seq: 0,
        action,
        plan: { unrecorded: carried },
      });
      assert.deepEqual([plan.next, plan.seq], ['done', 0], action);
    }
    assert.deepEqual(calls, []);
    assert.equal(orders.order.version, before);
  });

  it('credentials: the merchant’s for the order’s channel, none when the secret has none', async () => {
    const { ports, input } = setup();
    const seen: unknown[] = [];
    const channel = ports.channels.get('wechat') as Channel;
    const spy: Channel = {
      ...channel,
      query: async (ctx, order, deadline) => {
        seen.push(ctx.credentials);
        return channel.query(ctx, order, deadline);
      },
    };
    const merchant = await ports.merchants.get('M1');
    assert.ok(merchant);
    await runSettlementStep({ ...ports, channels: { get: () => spy } }, { ...input, action: 'query' });
    assert.deepEqual(seen[0], merchant.secret.channels.wechat);
    const bare = { ...merchant, secret: { ...merchant.secret, channels: {} } };
    const again = setup();
    await runSettlementStep(
      { ...again.ports, channels: { get: () => spy }, merchants: { get: async () => bare } },
      { ...again.input, action: 'query' },
    );
    assert.deepEqual(seen[1], {});
  });

  it('a query step on an order reversing, or final, plans from it instead of querying', async () => {
    const reversing = setup();
    reversing.orders.order = { ...reversing.orders.order, ...toState('REVERSING') };
    const plan = await runSettlementStep(reversing.ports, { ...reversing.input, action: 'query' });
    assert.deepEqual([plan.next, reversing.calls], ['reverse', []]);
    // Nothing to call, so no claim: the token stays.
    assert.deepEqual([plan.seq, reversing.orders.order.settle_seq], [1, 1]);
    const paid = setup();
    paid.orders.order = { ...paid.orders.order, ...toState('PAID'), settle_due_at: undefined };
    const done = await runSettlementStep(paid.ports, { ...paid.input, action: 'query' });
    assert.deepEqual([done.next, done.seq, paid.calls], ['done', 1, []]);
  });

  it('a query step whose claim finds the order paid or reversing meanwhile does not query', async () => {
    for (const [state, next] of [
      ['PAID', 'done'],
      ['REVERSING', 'reverse'],
    ] as const) {
      const { ports, orders, calls, input } = setup();
      const update = orders.update.bind(orders);
      let raced = false;
      orders.update = async (order, changes, attempts) => {
        if (!raced) {
          raced = true;
          orders.order = {
            ...orders.order,
            ...toState(state),
            version: orders.order.version + 1,
            ...(state === 'PAID' ? { settle_due_at: undefined } : {}),
          };
        }
        return update(order, changes, attempts);
      };
      const plan = await runSettlementStep(ports, { ...input, action: 'query' });
      assert.deepEqual([plan.next, calls], [next, []], state);
      // A claim that was not written takes no token.
      if (state === 'PAID') assert.equal(plan.seq, 1);
    }
  });

  it('a query that throws is recorded as ERROR and the order stays open; its lease covers the next step', async () => {
    const { ports, orders, input, clock } = setup();
    const channel = ports.channels.get('wechat') as Channel;
    const throwing: Channel = {
      ...channel,
      query: async () => {
        throw new Error('boom');
      },
    };
    const plan = await runSettlementStep(
      { ...ports, channels: { get: () => throwing } },
      { ...input, action: 'query' },
    );
    assert.equal(plan.next, 'query');
    assert.deepEqual(
      plan.unrecorded.map((a) => a.result),
      ['ERROR'],
    );
    // The claim's lease: the call's deadline after the wait that follows an answer that changes nothing.
    const lease = clock.time + wechatProtocol.queryIntervalMs + wechatProtocol.callDeadlineMs + 60_000;
    assert.equal(orders.order.settle_due_at, new Date(lease).toISOString());
    assert.equal(orders.order.settle_seq, 2);
  });

  it('a query that finds the order closed, reversed or failed writes that state, with the failure’s code', async () => {
    for (const [result, state] of [
      [{ kind: 'closed', said: 'CLOSED', proof: proof() }, 'CLOSED'],
      [{ kind: 'reversed', said: 'REVOKED', proof: proof() }, 'REVERSED'],
      [
        { kind: 'failed', errCode: 'PAYERROR', errMsg: '支付失败', said: 'PAYERROR', proof: proof() },
        'FAILED',
      ],
    ] as const) {
      const { ports, orders, telemetry, input } = setup([result as QueryResult]);
      const plan = await runSettlementStep(ports, { ...input, action: 'query' });
      assert.deepEqual(
        [plan.next, orders.order.state, orders.order.settle_due_at],
        ['done', state, undefined],
      );
      assert.deepEqual(telemetry.settlements, [`${input.trade_id}:${state}`]);
      if (state === 'FAILED')
        assert.deepEqual([orders.order.err_code, orders.order.err_msg], ['PAYERROR', '支付失败']);
      assert.deepEqual(orders.order.settlement.at(-1), {
        at: new Date(t0 + 1_000).toISOString(),
        action: 'query',
        result: result.said,
      });
    }
  });

  it('a reverse step on an order not reversing plans from it; one that throws is recorded as ERROR', async () => {
    const paying = setup();
    const plan = await runSettlementStep(paying.ports, { ...paying.input, action: 'reverse' });
    assert.deepEqual([plan.next, paying.calls], ['query', []]);
    assert.deepEqual([plan.seq, paying.orders.order.settle_seq], [1, 1]);
    const { ports, orders, input, clock } = setup();
    orders.order = { ...orders.order, ...toState('REVERSING') };
    clock.time = t0 + 20_000;
    const channel = ports.channels.get('wechat') as Channel;
    const throwing: Channel = {
      ...channel,
      reverse: async () => {
        throw new Error('boom');
      },
    };
    const after = await runSettlementStep(
      { ...ports, channels: { get: () => throwing } },
      { ...input, action: 'reverse' },
    );
    assert.equal(after.next, 'reverse');
    assert.deepEqual(after.unrecorded, [
      { at: new Date(clock.time).toISOString(), action: 'reverse', result: 'ERROR' },
    ]);
  });

  it('a reverse step whose claim finds the order reversed meanwhile does not call', async () => {
    const { ports, orders, calls, input, clock } = setup();
    orders.order = { ...orders.order, ...toState('REVERSING') };
    clock.time = t0 + 20_000;
    const update = orders.update.bind(orders);
    let raced = false;
    orders.update = async (order, changes, attempts) => {
      if (!raced) {
        raced = true;
        orders.order = {
          ...orders.order,
          ...toState('REVERSED'),
          settle_due_at: undefined,
          version: orders.order.version + 1,
        };
      }
      return update(order, changes, attempts);
    };
    const plan = await runSettlementStep(ports, { ...input, action: 'reverse' });
    assert.deepEqual([plan.next, calls], ['done', []]);
  });

  it('a reverse that succeeds keeps what the channel says it did; the order is final', async () => {
    const { ports, orders, input, clock, telemetry } = setup(
      [],
      [{ kind: 'reversed', said: 'SUCCESS', action: 'refund', proof: proof() }],
    );
    orders.order = { ...orders.order, ...toState('REVERSING') };
    clock.time = t0 + 20_000;
    const plan = await runSettlementStep(ports, { ...input, action: 'reverse' });
    assert.equal(plan.next, 'done');
    assert.deepEqual([orders.order.state, orders.order.reverse_action], ['REVERSED', 'refund']);
    assert.deepEqual(telemetry.settlements, [`${input.trade_id}:REVERSED`]);
  });

  it('give_up: only a REVERSING order it still owns becomes REVERSE_FAILED, once; otherwise it plans on', async () => {
    const owned = setup();
    owned.orders.order = { ...owned.orders.order, ...toState('REVERSING') };
    const first = await runSettlementStep(owned.ports, { ...owned.input, action: 'give_up' });
    assert.deepEqual(
      [first.next, owned.orders.order.state, owned.alarms.length],
      ['failed', 'REVERSE_FAILED', 1],
    );
    assert.deepEqual(owned.telemetry.settlements, [`${owned.input.trade_id}:REVERSE_FAILED`]);
    const twice = await runSettlementStep(owned.ports, { ...owned.input, action: 'give_up' });
    assert.deepEqual([twice.next, owned.alarms.length], ['done', 1]);
    const paid = setup();
    paid.orders.order = { ...paid.orders.order, ...toState('PAID'), settle_due_at: undefined };
    const none = await runSettlementStep(paid.ports, { ...paid.input, action: 'give_up' });
    assert.deepEqual([none.next, paid.orders.order.state, paid.alarms.length], ['done', 'PAID', 0]);
  });

  it('give_up whose write finds a newer claim (a restart) leaves the order to it: no REVERSE_FAILED, no alarm', async () => {
    const { ports, orders, input, alarms } = setup();
    orders.order = { ...orders.order, ...toState('REVERSING') };
    const update = orders.update.bind(orders);
    let raced = false;
    orders.update = async (order, changes, attempts) => {
      if (!raced) {
        raced = true;
        orders.order = { ...orders.order, settle_seq: 2, version: orders.order.version + 1 };
      }
      return update(order, changes, attempts);
    };
    const plan = await runSettlementStep(ports, { ...input, action: 'give_up' });
    assert.deepEqual([plan.next, orders.order.state, alarms.length], ['done', 'REVERSING', 0]);
  });

  it('a step whose write finds its settlement restarted keeps its attempts but not its plan: the new lease stands', async () => {
    const { ports, orders, input } = setup();
    const carried = [{ at: new Date(t0).toISOString(), action: 'query' as const, result: 'USERPAYING' }];
    // A lease too short for the next query, so begin writes; a sweep restart claims the order first.
    orders.order = { ...orders.order, settle_due_at: new Date(t0 + 2_000).toISOString() };
    const restartLease = new Date(t0 + 900_000).toISOString();
    const update = orders.update.bind(orders);
    let raced = false;
    orders.update = async (order, changes, attempts) => {
      if (!raced) {
        raced = true;
        orders.order = {
          ...orders.order,
          settle_seq: 2,
          settle_due_at: restartLease,
          version: orders.order.version + 1,
        };
      }
      return update(order, changes, attempts);
    };
    const plan = await runSettlementStep(ports, { ...input, action: 'begin', plan: { unrecorded: carried } });
    assert.equal(plan.next, 'done');
    assert.deepEqual(
      [orders.order.settle_seq, orders.order.settle_due_at, orders.order.settlement],
      [2, restartLease, carried],
    );
  });

  it('a step on an order already final writes nothing and does not count it settled again', async () => {
    const { ports, orders, input, telemetry } = setup();
    orders.order = { ...orders.order, ...toState('PAID'), settle_due_at: undefined };
    const before = orders.order.version;
    for (const action of ['begin', 'query', 'reverse'] as const) {
      const plan = await runSettlementStep(ports, { ...input, action });
      assert.equal(plan.next, 'done', action);
    }
    assert.deepEqual([orders.order.version, telemetry.settlements], [before, []]);
  });

  it('an answer that changes nothing is not written while the lease covers the next step; once it does not, it is', async () => {
    const { ports, orders, input, clock } = setup();
    let plan = await runSettlementStep(ports, { ...input, action: 'query' });
    const afterClaim = orders.order.version;
    assert.equal(plan.unrecorded.length, 1);
    // The next query claims again, and its claim carries the attempt before.
    clock.time = Date.parse(plan.at);
    plan = await runSettlementStep(ports, { ...input, action: 'query', plan, seq: plan.seq });
    assert.equal(orders.order.version, afterClaim + 1);
    assert.deepEqual(
      orders.order.settlement.map((a) => a.result),
      ['USERPAYING'],
    );
    // A lease shorter than the next step's needs is moved, with the attempts, in one write.
    orders.order = { ...orders.order, settle_due_at: new Date(clock.time + 1_000).toISOString() };
    const before = orders.order.version;
    await runSettlementStep(ports, { ...input, action: 'begin', plan, seq: plan.seq });
    assert.equal(orders.order.version, before + 1);
    assert.deepEqual(
      orders.order.settlement.map((a) => a.result),
      ['USERPAYING', 'USERPAYING'],
    );
  });

  it('a lease that ends exactly when the next step and its grace do covers it', async () => {
    const { ports, orders, input, clock } = setup();
    const next = clock.time + wechatProtocol.firstQueryDelayMs;
    orders.order = { ...orders.order, settle_due_at: new Date(next + 60_000).toISOString() };
    const before = orders.order.version;
    await runSettlementStep(ports, { ...input, action: 'begin' });
    assert.equal(orders.order.version, before);
  });

  it('the floor counts from the pay request when no pay answer was recorded (the submit died)', async () => {
    const { ports, orders, input, clock, calls } = setup();
    orders.order = {
      ...orders.order,
      ...toState('REVERSING'),
      settlement: [{ at: new Date(t0 + 40_000).toISOString(), action: 'query', result: 'USERPAYING' }],
    };
    clock.time = t0 + 41_000;
    await runSettlementStep(ports, { ...input, action: 'reverse' });
    assert.deepEqual(calls, ['reverse']);
    const noPaySent = setup();
    noPaySent.orders.order = { ...noPaySent.orders.order, ...toState('REVERSING'), pay_sent_at: undefined };
    noPaySent.clock.time = t0 + 20_000;
    const held = await runSettlementStep(noPaySent.ports, { ...noPaySent.input, action: 'reverse' });
    // Not recorded: the submit's lease end (pay deadline + grace) stands for when its pay call ended.
    assert.equal(held.at, new Date(t0 + wechatProtocol.payDeadlineMs + 60_000 + 15_000).toISOString());
  });

  it('the floor counts a recorded time_end without paid_at to the end of its second', async () => {
    const { ports, orders, input, clock } = setup();
    orders.order = {
      ...orders.order,
      ...toState('REVERSING'),
      time_end: (t0 + 18_000) / 1000,
      settlement: [{ at: new Date(t0).toISOString(), action: 'pay', result: 'USERPAYING' }],
    };
    clock.time = t0 + 25_000;
    const plan = await runSettlementStep(ports, { ...input, action: 'reverse' });
    assert.equal(plan.at, new Date(t0 + 19_000 + 15_000).toISOString());
  });
});
