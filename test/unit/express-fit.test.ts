import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { Channel } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { channelRegistry } from '#core/channels/registry.ts';
import { toState } from '#core/orders/changes.ts';
import type { Ports } from '#core/ports.ts';
import { runSettlementStep, type StepAction, type StepPlan } from '#core/settlement/step.ts';
import { MemoryOrderStore, RecordingTelemetry } from '../support/memory.ts';

/** Step Functions' limit for one Express execution. */
const expressLimitMs = 5 * 60_000;
/** Kept free for what the table does not show: Lambda cold starts, transitions, a retried task. */
const headroomMs = 30_000;

/**
 * The worst case of a channel's protocol table, as one execution lives it: the pay call took its whole
 * deadline, every query and reverse takes its whole deadline and decides nothing, every reverse asks to be
 * called again. Returns how long the execution runs and how the order ends.
 */
async function worstCase(channel: Channel) {
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');
  const clock = { time: t0 };
  const orders = new MemoryOrderStore();
  const slow = <T>(answer: T) => {
    clock.time += channel.protocol.callDeadlineMs;
    return Promise.resolve(answer);
  };
  const unanswered: Channel = {
    ...channel,
    pay: () => slow({ kind: 'unknown', said: 'TIMEOUT' }),
    query: () => slow({ kind: 'unknown', said: 'TIMEOUT' }),
    reverse: () => slow({ kind: 'retry', said: 'TIMEOUT' }),
  };
  const ports: Ports = {
    orders,
    merchants: {
      get: async () => ({
        merchant_id: 'M1',
        status: 0,
        pay_types: { 'wechat.micro': { channel: channel.name, account: {} } },
        secret: { api_key: 'k'.repeat(32), channels: {} },
      }),
    },
    channels: { get: () => unanswered },
    workflow: { startSettlement: async () => {} },
    clock: { now: () => clock.time },
    telemetry: new RecordingTelemetry(),
    log: { info: () => {}, warn: () => {}, error: () => {} },
    timeScale: 1,
    deadlineScale: 1,
    leaseGraceMs: 60_000,
  };
  const started = t0 + channel.protocol.payDeadlineMs;
  clock.time = started;
  const order = {
    merchant_id: 'M1',
    mch_trade_id: 'worst-case',
    trade_id: '0'.repeat(24),
    pay_type: 'wechat.micro',
    channel: channel.name,
    total_fee: 1,
    ...toState('PAYING'),
    body: 'b',
    auth_code_masked: '1345**********0010',
    request_fingerprint: 'f',
    created_at: new Date(t0).toISOString(),
    updated_at: new Date(t0).toISOString(),
    pay_sent_at: new Date(t0).toISOString(),
    settlement: [{ at: new Date(started).toISOString(), action: 'pay' as const, result: 'TIMEOUT' }],
    settle_due_at: new Date(started + 120_000).toISOString(),
    settle_seq: 1,
    version: 1,
  };
  await orders.create(order);
  const input = { merchant_id: 'M1', mch_trade_id: 'worst-case', trade_id: order.trade_id, seq: 1 };
  let action: StepAction = 'begin';
  let plan: StepPlan | undefined;
  for (let steps = 0; steps < 200; steps++) {
    plan = await runSettlementStep(ports, { ...input, seq: plan?.seq ?? 1, action, plan });
    if (plan.next === 'done' || plan.next === 'failed') break;
    clock.time = Math.max(clock.time, Date.parse(plan.at));
    action = plan.next;
  }
  const final = await orders.get(input);
  return {
    durationMs: clock.time - started,
    state: final?.state,
    queries: plan?.queries,
    reverses: plan?.reverses,
  };
}

describe('every channel protocol table fits one Express execution (5 minutes)', () => {
  const registry = channelRegistry({ channels: {} });
  const channels = installedChannels.flatMap(({ name }) => registry.get(name) ?? []);

  it('covers every channel the gateway speaks', () => {
    assert.ok(channels.some((c) => c.name === 'wechat'));
  });

  for (const channel of channels) {
    it(`${channel.name}: all queries, then every reverse retry, each call at its deadline, reach REVERSE_FAILED in time`, async () => {
      const run = await worstCase(channel);
      assert.equal(run.state, 'REVERSE_FAILED');
      assert.equal(run.reverses, channel.protocol.reverseRetryDelaysMs.length + 1);
      assert.ok(
        run.durationMs <= expressLimitMs - headroomMs,
        `${channel.name} worst case takes ${run.durationMs / 1000} s of ${expressLimitMs / 1000} s`,
      );
    });
  }
});
