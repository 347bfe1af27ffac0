import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { blueoceanProtocol } from '#core/channels/blueocean/protocol.ts';
import type { Channel, SettlementProtocol } from '#core/channels/channel.ts';
import { toState } from '#core/orders/changes.ts';
import type { SettlementAttempt } from '#core/orders/order.ts';
import { runSettlementStep } from '#core/settlement/step.ts';
import { memoryPorts } from '../support/memory.ts';

const t0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A channel whose every query takes `latencyMs` and finds the payment still open. */
function slowChannel(protocol: SettlementProtocol, latencyMs: number, clock: { time: number }): Channel {
  return {
    name: 'blueocean',
    protocol,
    pay: async () => ({ kind: 'unknown', said: 'TIMEOUT' }),
    query: async () => {
      clock.time += latencyMs;
      return { kind: 'pending', said: 'USERPAYING' };
    },
    reverse: async () => {
      clock.time += latencyMs;
      return { kind: 'retry', said: 'recall=Y' };
    },
  };
}

/**
 * Runs settlement from `begin` for an order whose pay was sent at t0 and answered `payAnswer` after
 * `payLatencyMs`, the settlement starting `startLagMs` after that; returns the query times and the first
 * reverse's (s after pay).
 */
async function queryTimes(
  protocol: SettlementProtocol,
  options: {
    payAnswer: string;
    payLatencyMs: number;
    startLagMs: number;
    queryLatencyMs: number;
    /** Queries an earlier settlement of the order recorded before it died. */
    history?: SettlementAttempt[];
  },
) {
  const clock = { time: t0 };
  const channel = slowChannel(protocol, options.queryLatencyMs, clock);
  const { ports: memory, orders } = memoryPorts(channel, { now: t0 });
  // The channel moves the clock by its latency, so the ports read the same clock.
  const ports = { ...memory, clock: { now: () => clock.time } };
  const answeredAt = t0 + options.payLatencyMs;
  await orders.create({
    merchant_id: 'M1',
    mch_trade_id: 'grid-1',
    trade_id: '0'.repeat(24),
    pay_type: 'wechat.micro',
    channel: 'blueocean',
    total_fee: 1,
    ...toState('PAYING'),
    body: 'b',
    auth_code_masked: '1345**********0201',
    request_fingerprint: 'f',
    created_at: new Date(t0).toISOString(),
    updated_at: new Date(t0).toISOString(),
    pay_sent_at: new Date(t0).toISOString(),
    settlement: [
      { at: new Date(answeredAt).toISOString(), action: 'pay', result: options.payAnswer },
      ...(options.history ?? []),
    ],
    settle_due_at: new Date(t0 + 120_000).toISOString(),
    settle_seq: 1,
    version: 1,
  });
  clock.time = answeredAt + options.startLagMs;
  const input = { merchant_id: 'M1', mch_trade_id: 'grid-1', trade_id: '0'.repeat(24), seq: 1 };
  let plan = await runSettlementStep(ports, { ...input, action: 'begin' });
  const times: number[] = [];
  while (plan.next === 'query') {
    clock.time = Math.max(clock.time, Date.parse(plan.at));
    times.push((clock.time - t0) / 1000);
    plan = await runSettlementStep(ports, { ...input, action: 'query', plan, seq: plan.seq });
  }
  const next = plan.next;
  let reverseAt: number | undefined;
  while (plan.next === 'reverse' && reverseAt === undefined) {
    clock.time = Math.max(clock.time, Date.parse(plan.at));
    const at = clock.time;
    plan = await runSettlementStep(ports, { ...input, action: 'reverse', plan, seq: plan.seq });
    if (plan.reverses > 0) reverseAt = (at - t0) / 1000;
  }
  return { times, next, reverseAt };
}

describe('queries on a grid counted from the pay answer, the last at the window’s end (BlueOcean)', () => {
  it('after 201: 10 s and 20 s after the answer and 30 s after pay, however slow each step is; then reverse', async () => {
    for (const lag of [0, 3_000, 6_000]) {
      const run = await queryTimes(blueoceanProtocol, {
        payAnswer: '201',
        payLatencyMs: 300,
        startLagMs: lag,
        queryLatencyMs: lag,
      });
      assert.deepEqual(run.times, [10.3, 20.3, 30], `lag ${lag} ms`);
      assert.equal(run.next, 'reverse');
      // The reverse follows the last query at once (the 15 s floor is long past).
      assert.equal(run.reverseAt, 30 + lag / 1000, `lag ${lag} ms`);
    }
  });

  it('an instant 201 queries at 10, 20 and 30 s, the last exactly on the window’s end', async () => {
    const run = await queryTimes(blueoceanProtocol, {
      payAnswer: '201',
      payLatencyMs: 0,
      startLagMs: 0,
      queryLatencyMs: 0,
    });
    assert.deepEqual(run.times, [10, 20, 30]);
    assert.equal(run.reverseAt, 30);
  });

  it('no answer within the 15 s pay deadline: queries 5 s after it and at 30 s, then reverse', async () => {
    const run = await queryTimes(blueoceanProtocol, {
      payAnswer: 'TIMEOUT',
      payLatencyMs: blueoceanProtocol.payDeadlineMs,
      startLagMs: 0,
      queryLatencyMs: 0,
    });
    assert.deepEqual(run.times, [20, 30]);
    assert.equal(run.reverseAt, 30);
  });

  it('a settlement restarted after the first query keeps to the grid: the one left is at 30 s', async () => {
    const answeredAt = t0 + blueoceanProtocol.payDeadlineMs;
    const run = await queryTimes(blueoceanProtocol, {
      payAnswer: 'TIMEOUT',
      payLatencyMs: blueoceanProtocol.payDeadlineMs,
      startLagMs: 6_000,
      queryLatencyMs: 0,
      history: [{ at: new Date(answeredAt + 5_000).toISOString(), action: 'query', result: 'NOTFOUND' }],
    });
    assert.deepEqual(run.times, [30]);
    assert.equal(run.next, 'reverse');
  });

  it('a settlement restarted past the window’s end queries no more and reverses at once', async () => {
    const run = await queryTimes(blueoceanProtocol, {
      payAnswer: '201',
      payLatencyMs: 300,
      startLagMs: 40_000,
      queryLatencyMs: 0,
      history: [{ at: new Date(t0 + 10_300).toISOString(), action: 'query', result: 'USERPAYING' }],
    });
    assert.deepEqual(run.times, []);
    assert.equal(run.reverseAt, 40.3);
  });

  it('without the grid, slow steps leave room for fewer queries; the window’s end still gets one', async () => {
    const run = await queryTimes(
      { ...blueoceanProtocol, queriesFromPayAnswer: false },
      { payAnswer: '201', payLatencyMs: 300, startLagMs: 6_000, queryLatencyMs: 6_000 },
    );
    assert.deepEqual(run.times, [16.3, 30]);
  });

  it('after a busy answer (40400): 5, 15 and 25 s after it and 30 s after pay, then reverse', async () => {
    const run = await queryTimes(blueoceanProtocol, {
      payAnswer: '40400',
      payLatencyMs: 100,
      startLagMs: 500,
      queryLatencyMs: 1_000,
    });
    assert.deepEqual(run.times, [5.1, 15.1, 25.1, 30]);
    assert.equal(run.reverseAt, 31);
  });

  it('after 4006, the same grid as 40400', async () => {
    const run = await queryTimes(blueoceanProtocol, {
      payAnswer: '4006',
      payLatencyMs: 0,
      startLagMs: 0,
      queryLatencyMs: 0,
    });
    assert.deepEqual(run.times, [5, 15, 25, 30]);
    assert.equal(run.reverseAt, 30);
  });

  it('a step that runs late queries at once rather than in the past, and the window still ends it', async () => {
    const run = await queryTimes(blueoceanProtocol, {
      payAnswer: '201',
      payLatencyMs: 100,
      startLagMs: 15_000,
      queryLatencyMs: 9_000,
    });
    assert.deepEqual(run.times, [15.1, 24.1]);
    assert.equal(run.reverseAt, 33.1);
  });
});
