import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { emfTelemetry, metricsEnabled } from '#adapters/emf-telemetry.ts';
import type { MicropayRequest } from '#core/api/requests.ts';
import { submitPayment } from '#core/payments/submit.ts';
import { runSettlementStep, type StepAction, type StepPlan } from '#core/settlement/step.ts';
import { sweepDueOrders } from '#core/settlement/sweep.ts';
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

describe('telemetry as CloudWatch metrics (EMF)', () => {
  function recording() {
    const lines: string[] = [];
    const telemetry = emfTelemetry({
      namespace: 'Micropay',
      service: 'micropay',
      write: (line) => lines.push(line),
      now: () => 1_764_547_200_000,
    });
    const emf = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    return { telemetry, lines, emf };
  }

  it('writes one EMF document per count, as CloudWatch reads it: namespace, dimension set, unit, value', () => {
    const { telemetry, lines, emf } = recording();
    telemetry.paymentAnswered('wechat', 'paid');
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0] as string, /\n/, 'one line');
    assert.deepEqual(emf()[0], {
      _aws: {
        Timestamp: 1_764_547_200_000,
        CloudWatchMetrics: [
          {
            Namespace: 'Micropay',
            Dimensions: [['service', 'channel', 'outcome']],
            Metrics: [{ Name: 'Payments', Unit: 'Count' }],
          },
        ],
      },
      service: 'micropay',
      channel: 'wechat',
      outcome: 'paid',
      Payments: 1,
    });
  });

  it('puts open orders into age buckets, every bucket published (zeros too)', () => {
    const { telemetry, emf } = recording();
    telemetry.openOrders([5_000, 59_000, 61_000, 10 * 60_000, 2 * 3600_000]);
    assert.deepEqual(
      emf().map((m) => [m.age, m.OpenOrders]),
      [
        ['under-1m', 2],
        ['1-5m', 1],
        ['5-30m', 1],
        ['over-30m', 1],
      ],
    );
  });

  it('dimensions payments by channel and outcome, settlements by channel and state, each line its own', () => {
    const { telemetry, emf } = recording();
    telemetry.paymentAnswered('wechat', 'paid');
    telemetry.settled({ channel: 'alipay', state: 'REVERSED' } as never);
    telemetry.reverseFailed({ channel: 'alipay' } as never);
    assert.deepEqual(emf(), [
      expectLine('Payments', { channel: 'wechat', outcome: 'paid' }),
      expectLine('Settled', { channel: 'alipay', state: 'REVERSED' }),
      expectLine('ReverseFailed', {}),
    ]);
  });

  it('is on when deployed and off in a local dev run unless asked for, by the variables Powertools reads', () => {
    assert.equal(metricsEnabled({}), true);
    assert.equal(metricsEnabled({ POWERTOOLS_METRICS_DISABLED: 'true' }), false);
    assert.equal(metricsEnabled({ POWERTOOLS_DEV: 'true' }), false);
    assert.equal(metricsEnabled({ POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'false' }), true);
    assert.equal(metricsEnabled({ POWERTOOLS_DEV: '', POWERTOOLS_METRICS_DISABLED: 'false' }), true);
  });
});

/** An EMF document of one count of 1, as `emfTelemetry` writes it with the test clock. */
function expectLine(name: string, dimensions: Record<string, string>): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: 1_764_547_200_000,
      CloudWatchMetrics: [
        {
          Namespace: 'Micropay',
          Dimensions: [['service', ...Object.keys(dimensions)]],
          Metrics: [{ Name: name, Unit: 'Count' }],
        },
      ],
    },
    service: 'micropay',
    ...dimensions,
    [name]: 1,
  };
}
