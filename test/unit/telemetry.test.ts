import assert from 'node:assert/strict';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, it } from 'vitest';
import type { MicropayRequest } from '#core/api/requests.ts';
import { submitPayment } from '#core/payments/submit.ts';
import { runSettlementStep, type StepAction, type StepPlan } from '#core/settlement/step.ts';
import { sweepDueOrders } from '#core/settlement/sweep.ts';
import { powertoolsTelemetry } from '../../functions/shared/telemetry.ts';
import { memoryPorts, SimChannel, type SimOutcome, testMerchant } from '../support/memory.ts';

const request = (outcome: string, id = `order-${outcome}`): MicropayRequest => ({
  merchant_id: 'M1',
  pay_type: 'wechat.micro',
  mch_trade_id: id,
  body: 'goods',
  total_fee: 100,
  spbill_create_ip: '10.0.0.1',
  auth_code: `1345678901234567${outcome}`,
  sign: 'x',
});

async function settle(outcome: SimOutcome) {
  const channel = new SimChannel(outcome);
  const context = memoryPorts(channel);
  const { ports, workflow, clock } = context;
  await submitPayment(ports, testMerchant, request(outcome));
  for (const input of workflow.started.values()) {
    let action: StepAction = 'begin';
    let plan: StepPlan | undefined;
    for (let step = 0; step < 50; step++) {
      plan = await runSettlementStep(ports, { ...input, seq: plan?.seq ?? input.seq, action, plan });
      if (plan.next === 'done' || plan.next === 'failed') break;
      clock.time = Math.max(clock.time, Date.parse(plan.at));
      action = plan.next;
    }
  }
  return context;
}

describe('what the domain tells operators', () => {
  it('counts each payment by what its submit told the merchant', async () => {
    const outcomes: Record<string, string> = {
      '00': 'paid',
      '03': 'refused',
      '01': 'settling',
      '06': 'settling',
    };
    for (const [outcome, told] of Object.entries(outcomes)) {
      const { telemetry } = await settle(outcome as SimOutcome);
      assert.equal(telemetry.payments[0], `wechat:${told}`, outcome);
    }
    const { ports, telemetry } = memoryPorts(new SimChannel('00'));
    await submitPayment(ports, testMerchant, request('00'));
    await submitPayment(ports, testMerchant, request('00'));
    assert.deepEqual(telemetry.payments, ['wechat:paid', 'wechat:replayed']);
  });

  it('counts the orders settlement brings to a final state, once each', async () => {
    const paid = await settle('01');
    assert.deepEqual(
      paid.telemetry.settlements.map((s) => s.split(':')[1]),
      ['PAID'],
    );
    const failing = await settle('10');
    assert.deepEqual(
      failing.telemetry.settlements.map((s) => s.split(':')[1]),
      ['REVERSE_FAILED'],
    );
    assert.equal(failing.telemetry.reverseFailures.length, 1);
    const immediate = await settle('00');
    assert.deepEqual(immediate.telemetry.settlements, [], 'settled by its submit, not by settlement');
  });

  it('reports the sweep restarting a settlement and the ages of the open orders it saw', async () => {
    const channel = new SimChannel('01');
    const { ports, telemetry, clock } = memoryPorts(channel);
    const created = clock.time;
    await submitPayment(ports, testMerchant, request('01'));
    clock.time = created + 10 * 60_000; // the settlement never ran; its lease ran out long ago
    const report = await sweepDueOrders(ports);
    assert.deepEqual([report.open, report.due, report.started], [1, 1, 1]);
    assert.equal(telemetry.restarts.length, 1);
    assert.deepEqual(telemetry.openAges, [[10 * 60_000]]);
  });
});

describe('telemetry as CloudWatch metrics', () => {
  function recordingMetrics() {
    const published: { name: string; value: number; dimensions: Record<string, string> }[] = [];
    let dimensions: Record<string, string> = {};
    let stored: { name: string; value: number }[] = [];
    const metrics = {
      addDimensions: (more: Record<string, string>) => {
        dimensions = { ...dimensions, ...more };
      },
      addMetric: (name: string, _unit: string, value: number) => stored.push({ name, value }),
      publishStoredMetrics: () => {
        for (const metric of stored) published.push({ ...metric, dimensions });
        stored = [];
        dimensions = {};
      },
    } as unknown as Metrics;
    return { metrics, published };
  }

  it('puts open orders into age buckets, every bucket published (zeros too)', () => {
    const { metrics, published } = recordingMetrics();
    powertoolsTelemetry(metrics).openOrders([5_000, 59_000, 61_000, 10 * 60_000, 2 * 3600_000]);
    assert.deepEqual(
      published.map((m) => [m.dimensions.age, m.value]),
      [
        ['under-1m', 2],
        ['1-5m', 1],
        ['5-30m', 1],
        ['over-30m', 1],
      ],
    );
  });

  it('dimensions payments by channel and outcome, settlements by channel and state', () => {
    const { metrics, published } = recordingMetrics();
    const telemetry = powertoolsTelemetry(metrics);
    telemetry.paymentAnswered('wechat', 'paid');
    telemetry.settled({ channel: 'alipay', state: 'REVERSED' } as never);
    assert.deepEqual(published, [
      { name: 'Payments', value: 1, dimensions: { channel: 'wechat', outcome: 'paid' } },
      { name: 'Settled', value: 1, dimensions: { channel: 'alipay', state: 'REVERSED' } },
    ]);
  });

  it('writes one EMF line per count with its own dimensions, with the real Powertools Metrics', async () => {
    const { Metrics } = await import('@aws-lambda-powertools/metrics');
    const metrics = new Metrics({ namespace: 'Micropay', serviceName: 'micropay' });
    // Powertools turns itself off in tests (POWERTOOLS_DEV) and writes EMF to its own console: read it there.
    (metrics as unknown as { disabled: boolean }).disabled = false;
    const lines: string[] = [];
    (metrics as unknown as { console: { log: (line: string) => void } }).console = {
      log: (line) => lines.push(line),
    };
    const telemetry = powertoolsTelemetry(metrics);
    telemetry.paymentAnswered('wechat', 'paid');
    telemetry.paymentAnswered('alipay', 'refused');
    const emf = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      emf.map((e) => [e.channel, e.outcome, e.Payments, e.service]),
      [
        ['wechat', 'paid', 1, 'micropay'],
        ['alipay', 'refused', 1, 'micropay'],
      ],
    );
  });
});
