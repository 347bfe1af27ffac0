import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { MicropayRequest } from '#core/api/requests.ts';
import { ApiError } from '#core/errors.ts';
import { leaseProblem, type Order } from '#core/orders/order.ts';
import { reverseOrder } from '#core/payments/orders.ts';
import { submitPayment } from '#core/payments/submit.ts';
import { refundStateOf, reservedFee } from '#core/refunds/refund.ts';
import { findRefunds, type RefundRequest, submitRefund } from '#core/refunds/submit.ts';
import { runSettlementStep, type StepAction, type StepPlan } from '#core/settlement/step.ts';
import { sweepDueOrders } from '#core/settlement/sweep.ts';
import { memoryPorts, SimChannel, testMerchant } from '../support/memory.ts';

const payment = (id: string, total = 1000): MicropayRequest => ({
  merchant_id: testMerchant.merchant_id,
  pay_type: 'wechat.micro',
  mch_trade_id: id,
  body: 'goods',
  total_fee: total,
  spbill_create_ip: '10.0.0.1',
  auth_code: '134567890123456700',
  sign: 'x',
});

const refund = (no: string, fee: number, extra: Partial<RefundRequest> = {}): RefundRequest => ({
  merchant_id: testMerchant.merchant_id,
  mch_trade_id: 'order-1',
  out_refund_no: no,
  refund_fee: fee,
  ...extra,
});

async function paid(total = 1000) {
  const channel = new SimChannel('00');
  const memory = memoryPorts(channel);
  const { order } = await submitPayment(memory.ports, testMerchant, payment('order-1', total));
  assert.equal(order.state, 'PAID');
  return { ...memory, channel, order };
}

/** Runs every settlement started (and the sweep, for parked leases) until nothing is left to do. */
async function settleAll({ ports, workflow, clock }: Awaited<ReturnType<typeof paid>>) {
  const done = new Set<string>();
  for (let round = 0; round < 200; round++) {
    const pending = [...workflow.started.entries()].filter(([name]) => !done.has(name));
    if (pending.length === 0) {
      const order = (await ports.orders.get({ merchant_id: 'M1', mch_trade_id: 'order-1' })) as Order;
      if (!order.settle_due_at) return;
      clock.time = Math.max(clock.time, Date.parse(order.settle_due_at) + 1);
      await sweepDueOrders(ports);
      continue;
    }
    for (const [name, input] of pending) {
      done.add(name);
      let action: StepAction = 'begin';
      let plan: StepPlan | undefined;
      for (let step = 0; step < 50; step++) {
        plan = await runSettlementStep(ports, { ...input, seq: plan?.seq ?? input.seq, action, plan });
        if (plan.next === 'done' || plan.next === 'failed') break;
        clock.time = Math.max(clock.time, Date.parse(plan.at));
        action = plan.next;
      }
    }
  }
  throw new Error('settlement did not end');
}

const stateOf = async (ports: Awaited<ReturnType<typeof paid>>['ports'], no: string) => {
  const { order, refunds } = await findRefunds(ports, { merchant_id: 'M1', out_refund_no: no });
  return { order, refund: refunds[0] };
};

describe('refunds (SPEC section 8)', () => {
  it('every sandbox refund outcome ends in its final refund_state, agreeing with the channel', async () => {
    const finals: Record<string, number> = {
      '00': 0,
      '01': 0,
      '03': 2,
      '04': 3,
      '05': 2,
      '06': 0,
      '07': 0,
      '57': 0,
    };
    for (const [suffix, final] of Object.entries(finals)) {
      const memory = await paid(10_000);
      const fee = Number(`1${suffix}`);
      const first = await submitRefund(memory.ports, testMerchant, refund(`R-${suffix}`, fee));
      if (suffix === '03') assert.equal(first.code, 600);
      if (suffix === '06' || suffix === '07') assert.equal(first.code, 601);
      await settleAll(memory);
      const { order, refund: after } = await stateOf(memory.ports, `R-${suffix}`);
      assert.equal(refundStateOf[after?.status ?? 'CREATED'], final, suffix);
      assert.equal(leaseProblem(order), undefined);
      assert.equal(order.settle_due_at, undefined, `${suffix}: a final refund leaves no lease`);
      const atChannel = memory.channel.refundLedger.get(after?.refund_id ?? '');
      assert.equal(atChannel?.state === 'SUCCESS', after?.status === 'REFUNDED', suffix);
      assert.equal(order.trade_state, after?.status === 'REFUNDED' ? 1 : 0, suffix);
    }
  });

  it('an abnormal refund alarms; an overdue one alarms once; parked waits are not restarts', async () => {
    const memory = await paid();
    await submitRefund(memory.ports, testMerchant, refund('R-abn', 104));
    await settleAll(memory);
    assert.equal(memory.telemetry.refundsSettled.at(-1)?.split(':')[1], 'ABNORMAL');
    assert.deepEqual(memory.telemetry.restarts, []);
  });

  it('20 concurrent refunds whose sum exceeds the order: the accepted ones fit, the rest are 103', async () => {
    const memory = await paid(1000);
    const answers = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => submitRefund(memory.ports, testMerchant, refund(`R-c${i}`, 100))),
    );
    const accepted = answers.filter((a) => a.status === 'fulfilled');
    const refused = answers.filter((a) => a.status === 'rejected');
    assert.equal(accepted.length, 10);
    for (const r of refused) assert.equal(((r as PromiseRejectedResult).reason as ApiError).code, 103);
    // A refused refund's number is not kept: it can be used again, for anything.
    const numbers = answers.map((a, i) => (a.status === 'rejected' ? `R-c${i}` : undefined)).filter(Boolean);
    for (const no of numbers) {
      assert.equal(
        await memory.ports.orders.findRefundBinding('M1', { out_refund_no: no as string }),
        undefined,
      );
    }
    await settleAll(memory);
    const order = (await memory.ports.orders.get({ merchant_id: 'M1', mch_trade_id: 'order-1' })) as Order;
    assert.equal(reservedFee(order.refunds), 1000);
    const atChannel = [...memory.channel.refundLedger.values()].filter((r) => r.state === 'SUCCESS');
    assert.equal(
      atChannel.reduce((sum, r) => sum + r.fee, 0),
      1000,
    );
  });

  it('one number is one refund: replays make one channel call; another order or amount is 102', async () => {
    const memory = await paid();
    const [a, b] = await Promise.all([
      submitRefund(memory.ports, testMerchant, refund('R-same', 100)),
      submitRefund(memory.ports, testMerchant, refund('R-same', 100)),
    ]);
    assert.equal(a.refund.refund_id, b.refund.refund_id);
    await settleAll(memory);
    const again = await submitRefund(memory.ports, testMerchant, refund('R-same', 100));
    assert.equal(again.refund.refund_id, a.refund.refund_id);
    assert.equal(refundStateOf[again.refund.status], 0);
    const all = await findRefunds(memory.ports, { merchant_id: 'M1', mch_trade_id: 'order-1' });
    assert.equal(all.refunds.length, 1);
    assert.equal(memory.channel.calls.filter((c) => c === 'refund').length, 1);
    await assert.rejects(
      submitRefund(memory.ports, testMerchant, refund('R-same', 200)),
      (e: ApiError) => e.code === 102,
    );
    await submitPayment(memory.ports, testMerchant, payment('order-2'));
    await assert.rejects(
      submitRefund(memory.ports, testMerchant, refund('R-same', 100, { mch_trade_id: 'order-2' })),
      (e: ApiError) => e.code === 102,
    );
  });

  it('refuses what SPEC section 8 refuses, and writes nothing', async () => {
    const memory = await paid(1000);
    const before = memory.orders.writes;
    await assert.rejects(
      submitRefund(memory.ports, testMerchant, refund('R-big', 1001)),
      (e: ApiError) => e.code === 103 && /1000 fen/.test(e.message),
    );
    await assert.rejects(
      submitRefund(memory.ports, testMerchant, refund('R-none', 1, { mch_trade_id: 'nope' })),
      (e: ApiError) => e.code === 301,
    );
    assert.equal(memory.orders.writes, before, 'a refused refund writes nothing, not even its number');
    memory.clock.time += 366 * 24 * 3600 * 1000;
    await assert.rejects(
      submitRefund(memory.ports, testMerchant, refund('R-late', 1)),
      (e: ApiError) => e.code === 103 && /365 days/.test(e.message),
    );
  });

  it('a refunded order is not reversed (302), and a refund frees nothing until it fails', async () => {
    const memory = await paid(1000);
    await submitRefund(memory.ports, testMerchant, refund('R-1', 103));
    await settleAll(memory);
    const order = (await memory.ports.orders.get({ merchant_id: 'M1', mch_trade_id: 'order-1' })) as Order;
    await assert.rejects(
      reverseOrder(memory.ports, order),
      (e: ApiError) => e instanceof ApiError && e.code === 302,
    );
    // The refused refund's amount can be refunded again.
    const again = await submitRefund(memory.ports, testMerchant, refund('R-2', 1000));
    assert.equal(again.code, 0);
  });
});
