import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { MicropayRequest } from '#core/api/requests.ts';
import type { Order } from '#core/orders/order.ts';
import { reverseOrder } from '#core/payments/orders.ts';
import { submitPayment } from '#core/payments/submit.ts';
import type { Ports, SettlementInput } from '#core/ports.ts';
import { runSettlementStep, type StepAction, type StepPlan } from '#core/settlement/step.ts';
import { sweepDueOrders } from '#core/settlement/sweep.ts';
import { everySchedule, Interleaver, seededSchedule } from '../support/interleave.ts';
import { memoryPorts, SimChannel, type SimOutcome, testMerchant } from '../support/memory.ts';

const key = { merchant_id: testMerchant.merchant_id, mch_trade_id: 'race-1' };

const request = (outcome: SimOutcome): MicropayRequest => ({
  merchant_id: testMerchant.merchant_id,
  pay_type: 'wechat.micro',
  mch_trade_id: key.mch_trade_id,
  body: 'goods',
  total_fee: 101,
  spbill_create_ip: '10.0.0.1',
  auth_code: `1345678901234567${outcome}`,
  sign: 'x',
});

/**
 * An order whose pay answer left it open (USERPAYING) and whose settlement was started, then `ports` in which
 * every call to the store, the merchant directory, the channel and the workflow is a point where the schedule
 * decides who goes next.
 */
async function race(outcome: SimOutcome = '02') {
  const channel = new SimChannel(outcome);
  const memory = memoryPorts(channel);
  await submitPayment(memory.ports, testMerchant, request(outcome));
  const [started] = [...memory.workflow.started.values()];
  const input = started as SettlementInput;
  channel.calls.length = 0;
  const startsBefore = memory.workflow.started.size;
  const interleaver = new Interleaver();
  const ports: Ports = {
    ...memory.ports,
    orders: interleaver.wrap(memory.ports.orders, ['get', 'update', 'listDue'], 'orders'),
    merchants: interleaver.wrap(memory.ports.merchants, ['get'], 'merchants'),
    channels: { get: () => interleaver.wrap(channel, ['pay', 'query', 'reverse'], 'channel') },
    workflow: interleaver.wrap(memory.ports.workflow, ['startSettlement'], 'workflow'),
  };
  const order = async () => (await memory.orders.get(key)) as Order;
  const newStarts = () => memory.workflow.started.size - startsBefore;
  return { ...memory, ports, channel, input, interleaver, order, newStarts };
}

type Race = Awaited<ReturnType<typeof race>>;

/** Moves the order to where `action` is the step due next (REVERSING for `reverse`), with its lease. */
async function prepare(run: Race, action: StepAction): Promise<SettlementInput> {
  if (action !== 'reverse') return run.input;
  const order = await run.order();
  await run.orders.update(order, { state: 'REVERSING', trade_state: 5 });
  run.clock.time += 20_000; // past the 15 s floor
  return run.input;
}

const step = (run: Race, input: SettlementInput, action: StepAction) => () =>
  runSettlementStep(run.ports, { ...input, action });

const planOf = (result: PromiseSettledResult<unknown> | undefined) => {
  assert.equal(result?.status, 'fulfilled', result?.status === 'rejected' ? String(result.reason) : '');
  return (result as PromiseFulfilledResult<StepPlan>).value;
};

/** Runs a settlement on from `plan` to its end, one step after another (no more racing). */
async function finish(run: Race, input: SettlementInput, plan: StepPlan): Promise<void> {
  let next = plan;
  for (let steps = 0; next.next !== 'done' && next.next !== 'failed'; steps++) {
    assert.ok(steps < 50, 'the settlement ends');
    run.clock.time = Math.max(run.clock.time, Date.parse(next.at));
    next = await runSettlementStep(run.ports, {
      ...input,
      seq: next.seq,
      action: next.next as StepAction,
      plan: next,
    });
  }
}

describe('copies of one settlement step, interleaved at every await, make one channel call', () => {
  for (const [action, call] of [
    ['query', 'query'],
    ['reverse', 'reverse'],
  ] as const) {
    it(`two copies of a ${action} step: every interleaving`, async () => {
      const { schedules, exhausted } = await everySchedule(async (choose) => {
        const run = await race();
        const input = await prepare(run, action);
        const results = await run.interleaver.run(
          [step(run, input, action), step(run, input, action)],
          choose,
        );
        const plans = results.map(planOf);
        const where = run.interleaver.trace.join(' ');
        assert.deepEqual(run.channel.calls, [call], where);
        // One copy claimed the next token (and goes on, if there is more to do); the other stopped.
        assert.equal(plans.filter((plan) => plan.seq === input.seq + 1).length, 1, where);
        assert.equal((await run.order()).settle_seq, input.seq + 1, where);
      });
      assert.ok(exhausted, `${schedules} schedules, not all walked`);
      assert.ok(schedules >= 20, `${schedules} schedules`);
    });

    it(`three copies of a ${action} step: 300 seeded interleavings`, async () => {
      for (let seed = 1; seed <= 300; seed++) {
        const run = await race();
        const input = await prepare(run, action);
        const copies = [1, 2, 3].map(() => step(run, input, action));
        const plans = (await run.interleaver.run(copies, seededSchedule(seed))).map(planOf);
        assert.deepEqual(run.channel.calls, [call], `seed ${seed}: ${run.interleaver.trace.join(' ')}`);
        assert.equal(plans.filter((plan) => plan.seq === input.seq + 1).length, 1, `seed ${seed}`);
      }
    });
  }
});

describe('copies of a give_up step: one marks the order and alarms', () => {
  it('two copies of give_up, every interleaving: REVERSE_FAILED once, one alarm', async () => {
    const { exhausted } = await everySchedule(async (choose) => {
      const run = await race();
      const order = await run.order();
      await run.orders.update(order, { state: 'REVERSING', trade_state: 5 });
      const results = await run.interleaver.run(
        [step(run, run.input, 'give_up'), step(run, run.input, 'give_up')],
        choose,
      );
      const plans = results.map(planOf);
      const where = run.interleaver.trace.join(' ');
      assert.deepEqual(run.telemetry.reverseFailures, [run.input.trade_id], where);
      assert.deepEqual(plans.map((plan) => plan.next).sort(), ['done', 'failed'], where);
      assert.equal((await run.order()).state, 'REVERSE_FAILED', where);
    });
    assert.ok(exhausted);
  });
});

describe('a reverse request, or the sweep, racing a settlement step', () => {
  it('a reverse request during a query step leaves one owner: no second settlement, at most one call', async () => {
    const { exhausted } = await everySchedule(async (choose) => {
      const run = await race();
      const before = await run.order();
      const results = await run.interleaver.run(
        [step(run, run.input, 'query'), () => reverseOrder(run.ports, before)],
        choose,
      );
      const where = run.interleaver.trace.join(' ');
      assert.equal(results[0]?.status, 'fulfilled', where);
      assert.equal(results[1]?.status, 'fulfilled', where);
      const order = await run.order();
      assert.equal(order.state, 'REVERSING', where);
      // The settlement that owned the order carries the reverse out: the request started nothing.
      assert.equal(run.newStarts(), 0, where);
      assert.ok(run.channel.calls.length <= 1, where);
      // The step's settlement goes on, and carries the reverse out.
      const plan = planOf(results[0]);
      assert.notEqual(plan.next, 'done', where);
      await finish(run, run.input, plan);
      assert.equal((await run.order()).state, 'REVERSED', where);
      assert.equal(run.channel.calls.filter((c) => c === 'reverse').length, 1, where);
    });
    assert.ok(exhausted);
  });

  it('the sweep restarting an expired settlement while its old step still runs: exactly one goes on', async () => {
    const { exhausted } = await everySchedule(async (choose) => {
      const run = await race();
      const order = await run.order();
      run.clock.time = Date.parse(order.settle_due_at ?? '') + 1;
      const results = await run.interleaver.run(
        [step(run, run.input, 'query'), () => sweepDueOrders(run.ports)],
        choose,
      );
      const where = run.interleaver.trace.join(' ');
      for (const result of results) assert.equal(result.status, 'fulfilled', where);
      // Either the old step claimed the order and queried, or the sweep claimed it and started a new one.
      assert.equal(run.channel.calls.length + run.newStarts(), 1, where);
      const settled = await run.order();
      assert.equal(settled.settle_seq, run.input.seq + 1, where);
    });
    assert.ok(exhausted);
  });

  it('two sweeps at once start one settlement', async () => {
    const { exhausted } = await everySchedule(async (choose) => {
      const run = await race();
      run.clock.time = Date.parse((await run.order()).settle_due_at ?? '') + 1;
      await run.interleaver.run([() => sweepDueOrders(run.ports), () => sweepDueOrders(run.ports)], choose);
      assert.equal(run.newStarts(), 1, run.interleaver.trace.join(' '));
    });
    assert.ok(exhausted);
  });

  it('two reverse requests on a paid order at once start one settlement', async () => {
    const { exhausted } = await everySchedule(async (choose) => {
      const run = await race('00');
      const paid = await run.order();
      await run.interleaver.run(
        [() => reverseOrder(run.ports, paid), () => reverseOrder(run.ports, paid)],
        choose,
      );
      assert.equal(run.newStarts(), 1, run.interleaver.trace.join(' '));
      assert.equal((await run.order()).state, 'REVERSING');
    });
    assert.ok(exhausted);
  });
});
