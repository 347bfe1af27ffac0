import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { MicropayRequest } from '#core/api/requests.ts';
import { alipayProtocols } from '#core/channels/alipay/protocol.ts';
import type { SettlementProtocol } from '#core/channels/channel.ts';
import { wechatProtocol } from '#core/channels/wechat/protocol.ts';
import { ApiError } from '#core/errors.ts';
import { applyChange, toState } from '#core/orders/changes.ts';
import { canTransition, isSettled, leaseProblem, type Order, type OrderState } from '#core/orders/order.ts';
import { reverseOrder } from '#core/payments/orders.ts';
import { type SubmitOutcome, submitPayment } from '#core/payments/submit.ts';
import type { Ports, SettlementInput } from '#core/ports.ts';
import { submitRefund } from '#core/refunds/submit.ts';
import { runSettlementStep, type StepAction, type StepPlan } from '#core/settlement/step.ts';
import { sweepDueOrders } from '#core/settlement/sweep.ts';
import { memoryPorts, SimChannel, type SimOutcome, testMerchant } from '../support/memory.ts';

/** A process dying at a kill point: nothing after it in that process runs. */
class Crash extends Error {
  override name = 'Crash';
}

interface KillPoint {
  /** The index of the write, channel call or settlement start where the process dies. */
  readonly at: number;
  readonly side: 'before' | 'after';
}

/** Counts every write, channel call and settlement start, and kills the running process at one of them. */
class Killer {
  count = 0;
  fired = false;
  /** The operation the kill fired at. */
  killedAt: string | undefined;
  readonly log: { op: string; time: number }[] = [];
  readonly kill: KillPoint | undefined;
  readonly now: () => number;
  /** Runs after every operation that completed, the killed one included. */
  afterEach: () => void = () => {};
  constructor(kill: KillPoint | undefined, now: () => number) {
    this.kill = kill;
    this.now = now;
  }

  wrap<T extends object>(target: T, methods: readonly string[], label: string): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function' || !methods.includes(String(property))) return value;
        return async (...args: unknown[]) => {
          const index = this.count++;
          const dies = !this.fired && this.kill?.at === index;
          if (dies && this.kill?.side === 'before') {
            this.fired = true;
            this.killedAt = `${label}.${String(property)}`;
            throw new Crash(`killed before ${label}.${String(property)}`);
          }
          this.log.push({ op: `${label}.${String(property)}`, time: this.now() });
          const result = await value.apply(object, args);
          this.afterEach();
          if (dies) {
            this.fired = true;
            this.killedAt = `${label}.${String(property)}`;
            throw new Crash(`killed after ${label}.${String(property)}`);
          }
          return result;
        };
      },
    });
  }
}

const request = (outcome: string): MicropayRequest => ({
  merchant_id: testMerchant.merchant_id,
  pay_type: 'wechat.micro',
  mch_trade_id: `order-${outcome}`,
  body: 'goods',
  total_fee: 101,
  spbill_create_ip: '10.0.0.1',
  auth_code: `1345678901234567${outcome}`,
  sign: 'x',
});

/**
 * `operator retry`: once the order is final, the merchant reverses it again (the remedy for REVERSE_FAILED,
 * which reopens a final order).
 */
type Mode = 'alone' | 'reverse during pay' | 'reverse after submit' | 'operator retry';

interface Execution {
  readonly input: SettlementInput;
  action: StepAction;
  at: number;
  plan?: StepPlan;
}

/** The writes the order store makes to its tables: each is a point where its process can die. */
const tableWrites = ['putNewOrder', 'updateOrder', 'putWakeup', 'advanceWatermark'];
/** The sweep's schedule (EventBridge, `SettlementWorkflow`'s `sweepEvery`). */
const sweepIntervalMs = 60_000;

const ignoreDeath = (error: unknown) => {
  if (!(error instanceof Crash) && !(error instanceof ApiError)) throw error;
};

/**
 * Runs one payment with a process killed at `kill`, then lets the system recover as it would in AWS:
 * executions run their steps on the state machine's routing, and whenever none is running the clock moves
 * past the order's lease and the sweep runs. Returns what is left to check.
 */
async function scenario(
  outcome: SimOutcome,
  mode: Mode,
  kill?: KillPoint,
  protocol: SettlementProtocol = wechatProtocol,
) {
  const channel = new SimChannel(outcome, protocol);
  const time = { now: () => 0 };
  const killer = new Killer(kill, () => time.now());
  // Every write of the store (orders, wake-ups, the sweep's watermark) is a kill point, under the deployed
  // store's own logic: its sweep finds orders through the wake-ups only, as the DynamoDB store does.
  const base = memoryPorts(channel, { wrapTables: (tables) => killer.wrap(tables, tableWrites, 'tables') });
  const { clock } = base;
  time.now = () => clock.time;
  // After every operation, wherever a process may die next: each open order has a wake-up ahead of the sweep.
  const unfindable = new Set<string>();
  killer.afterEach = () => {
    for (const order of base.orders.memory.unfindable()) unfindable.add(order);
  };
  const ports: Ports = {
    ...base.ports,
    channels: { get: () => killer.wrap(channel, ['pay', 'query', 'reverse'], 'channel') },
    workflow: killer.wrap(base.ports.workflow, ['startSettlement'], 'workflow'),
  };
  const key = { merchant_id: testMerchant.merchant_id, mch_trade_id: `order-${outcome}` };
  const reverse = async () => {
    const order = await ports.orders.get(key);
    if (order) await reverseOrder(ports, order).catch(ignoreDeath);
  };
  if (mode === 'reverse during pay') channel.duringPay = reverse;

  let submitted: SubmitOutcome | undefined;
  try {
    submitted = await submitPayment(ports, testMerchant, request(outcome));
  } catch (error) {
    ignoreDeath(error);
  }
  if (mode === 'reverse after submit') await reverse();

  const executions = new Map<string, Execution>();
  const seen = new Set<string>();
  // The sweep runs once a minute whatever else is running, as its schedule does in AWS.
  let nextSweep = clock.time + sweepIntervalMs;
  let retried = false;
  for (let round = 0; round < 400; round++) {
    for (const [name, input] of base.workflow.started) {
      if (seen.has(name)) continue;
      seen.add(name);
      executions.set(name, { input, action: 'begin', at: clock.time });
    }
    const [name, execution] = [...executions].sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
    if (name && execution && execution.at < nextSweep) {
      clock.time = Math.max(clock.time, execution.at);
      try {
        const plan = await runSettlementStep(ports, {
          ...execution.input,
          seq: execution.plan?.seq ?? execution.input.seq,
          action: execution.action,
          plan: execution.plan,
        });
        execution.plan = plan;
        execution.at = Date.parse(plan.at);
        if (plan.next === 'done' || plan.next === 'failed') executions.delete(name);
        else execution.action = plan.next;
      } catch (error) {
        ignoreDeath(error);
        executions.delete(name); // the execution died with its process
      }
      continue;
    }
    const order = await base.orders.get(key);
    if (!execution && (!order || isSettled(order.state))) {
      if (mode !== 'operator retry' || retried) break;
      // The operator acts an hour later, when the sweep has long passed every wake-up the order had.
      retried = true;
      clock.time += 3_600_000;
      nextSweep = clock.time + sweepIntervalMs;
      await sweepDueOrders(ports).catch(ignoreDeath);
      await reverse();
      continue;
    }
    clock.time = Math.max(clock.time, nextSweep);
    nextSweep += sweepIntervalMs;
    await sweepDueOrders(ports).catch(ignoreDeath);
  }
  return {
    order: await base.orders.get(key),
    channel,
    killer,
    submitted,
    alarms: base.alarms,
    executions,
    unfindable,
  };
}

const outcomes: SimOutcome[] = ['00', '01', '02', '03', '05', '06', '07', '08', '09', '10'];
const modes: Mode[] = ['alone', 'reverse during pay', 'reverse after submit'];
/** Each channel's protocol table: the timing differs (Alipay cancels with no floor; its guidance has a window). */
const protocols: ReadonlyArray<[string, SettlementProtocol]> = [
  ['WeChat', wechatProtocol],
  ['Alipay seed', alipayProtocols.seed],
  ['Alipay guidance', alipayProtocols.guidance],
];

/** Every invariant of SPEC section 3 that the run can break, as one list of problems. */
function problems(run: Awaited<ReturnType<typeof scenario>>): string[] {
  const found: string[] = [];
  const { order, channel } = run;
  const payCalls = channel.calls.filter((c) => c === 'pay').length;
  if (!order) {
    if (payCalls > 0) found.push('the channel was called for an order that was never written');
    return found;
  }
  if (payCalls > 1) found.push(`${payCalls} pay calls`);
  for (const lost of run.unfindable) found.push(`no wake-up ahead of the sweep for ${lost}`);
  if (!isSettled(order.state)) found.push(`order left ${order.state}`);
  const problem = leaseProblem(order);
  if (problem) found.push(problem);
  if (run.executions.size > 0) found.push('executions still running');
  const trade = channel.trades.get(order.trade_id);
  const moneyHeld = trade?.state === 'SUCCESS';
  if (moneyHeld && order.state !== 'PAID')
    found.push(`channel holds the money but the order is ${order.state}`);
  if (order.state === 'PAID' && !moneyHeld) found.push(`order PAID but the channel has ${trade?.state}`);
  if (order.state === 'REVERSED' && trade && trade.state !== 'REVOKED' && trade.state !== 'PAYERROR') {
    found.push(`order REVERSED but the channel has ${trade.state}`);
  }
  if (order.state === 'REVERSE_FAILED' && channel.outcome !== '10')
    found.push('REVERSE_FAILED without cause');
  const paySent = run.killer.log.find((e) => e.op === 'channel.pay')?.time;
  const floor = channel.protocol.reverseNotBeforeMs;
  for (const call of run.killer.log.filter((e) => e.op === 'channel.reverse')) {
    if (paySent !== undefined && call.time - paySent < floor) {
      found.push(`reverse ${call.time - paySent} ms after pay`);
    }
  }
  return found;
}

describe('a process killed at any point leaves no order stranded and no money unaccounted for', () => {
  for (const [table, protocol] of protocols) {
    for (const mode of modes) {
      it(`${table} protocol: every outcome, ${mode}, killed before and after each write, channel call and start`, async () => {
        let runs = 0;
        const killed = new Set<string>();
        const ops = new Set<string>();
        for (const outcome of outcomes) {
          const clean = await scenario(outcome, mode, undefined, protocol);
          assert.deepEqual(problems(clean), [], `${outcome} ${mode}, no crash`);
          for (const { op } of clean.killer.log) ops.add(op);
          const points = clean.killer.count;
          for (let at = 0; at < points; at++) {
            for (const side of ['before', 'after'] as const) {
              const run = await scenario(outcome, mode, { at, side }, protocol);
              runs += 1;
              const where = `${outcome} ${mode}, killed ${side} op ${at}`;
              // Everything before the kill point runs as in the clean run, so the planned kill must fire.
              assert.ok(run.killer.fired, `${where}: the kill never fired`);
              killed.add(run.killer.killedAt ?? '');
              assert.deepEqual(
                problems(run),
                [],
                `${where}: ${JSON.stringify(run.killer.log.map((e) => e.op))}`,
              );
            }
          }
        }
        assert.ok(runs > 150, `${runs} kill points walked`);
        // Every kind of operation was a kill point, the sweep's wake-ups and watermark among them.
        assert.deepEqual([...killed].sort(), [...ops].sort());
        for (const op of ['tables.putWakeup', 'tables.advanceWatermark', 'tables.updateOrder']) {
          assert.ok(killed.has(op), `no run was killed at ${op}`);
        }
      });
    }
  }

  it('answers a submit with the state the order has after its own write (600 comes with 7)', async () => {
    for (const mode of modes) {
      for (const outcome of outcomes) {
        const { submitted } = await scenario(outcome, mode);
        assert.ok(submitted);
        const expected = { 600: 7, 601: 6 }[submitted.code as 600 | 601];
        if (expected !== undefined) assert.equal(submitted.order.trade_state, expected, `${outcome} ${mode}`);
      }
    }
  });
});

describe('an operator’s retry reopens a final order; killed at any point, it is still settled', () => {
  it('REVERSE_FAILED reversed again, killed before and after each write, channel call and start', async () => {
    const clean = await scenario('10', 'operator retry');
    assert.deepEqual(problems(clean), []);
    assert.equal(clean.channel.calls.filter((call) => call === 'reverse').length, 12);
    for (let at = 0; at < clean.killer.count; at++) {
      for (const side of ['before', 'after'] as const) {
        const run = await scenario('10', 'operator retry', { at, side });
        assert.ok(run.killer.fired, `killed ${side} op ${at}: the kill never fired`);
        assert.deepEqual(problems(run), [], `killed ${side} op ${at}`);
      }
    }
  });
});

describe('the lifecycle table', () => {
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

  it('every transition, allowed or not, leaves a non-final order with a lease and a final one without', async () => {
    for (const from of states) {
      for (const to of states) {
        for (const paid of [false, true]) {
          const { orders } = memoryPorts(new SimChannel('00'));
          const order = sampleOrder(from, paid);
          await orders.create(order);
          const allowed = canTransition(order, to);
          // The change tries to drop the lease; only a move to a final state may.
          const write = applyChange(orders, order, () => ({ ...toState(to), settle_due_at: undefined }));
          if (allowed && isSettled(from) && !isSettled(to)) {
            // A final order has no lease to keep: reopening it without a new one is refused.
            await assert.rejects(write, /without a settlement lease/, `${from} → ${to}`);
            continue;
          }
          const { order: saved } = await write;
          assert.equal(saved.state, allowed ? to : from, `${from} → ${to}${paid ? ' (paid)' : ''}`);
          assert.equal(leaseProblem(saved), undefined, `${from} → ${to}`);
        }
      }
    }
  });

  it('no answer can declare the money of a paid order never taken', () => {
    for (const to of ['FAILED', 'CLOSED'] as const) {
      assert.equal(canTransition(sampleOrder('REVERSING', true), to), false);
      assert.equal(canTransition(sampleOrder('REVERSING', false), to), true);
    }
  });

  it('a store refuses a write that would leave a non-final order without a lease', async () => {
    const { orders } = memoryPorts(new SimChannel('00'));
    const order = sampleOrder('PAYING', false);
    await orders.create(order);
    await assert.rejects(orders.update(order, { settle_due_at: undefined }), /without a settlement lease/);
  });
});

function sampleOrder(state: OrderState, paid: boolean): Order {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    merchant_id: 'M1',
    mch_trade_id: `o-${state}-${paid}`,
    trade_id: '0'.repeat(24),
    pay_type: 'wechat.micro',
    channel: 'wechat',
    total_fee: 1,
    ...toState(state),
    body: 'b',
    auth_code_masked: '1345**********0000',
    request_fingerprint: 'f',
    created_at: at,
    updated_at: at,
    settlement: [],
    ...(isSettled(state) ? {} : { settle_due_at: '2026-01-01T00:01:00.000Z' }),
    ...(paid ? { paid_at: at } : {}),
    version: 1,
  };
}

/**
 * A paid order and two refunds (the first picks its sandbox outcome by `suffix`, the second refunds at once),
 * with a process killed at `kill`; then recovery as in AWS (executions step, the sweep runs once a minute).
 */
async function refundScenario(suffix: string, kill?: KillPoint) {
  const channel = new SimChannel('00');
  const time = { now: () => 0 };
  const killer = new Killer(kill, () => time.now());
  const base = memoryPorts(channel, { wrapTables: (tables) => killer.wrap(tables, tableWrites, 'tables') });
  const { clock } = base;
  time.now = () => clock.time;
  const unfindable = new Set<string>();
  killer.afterEach = () => {
    for (const order of base.orders.memory.unfindable()) unfindable.add(order);
  };
  const wrappedRefunds = killer.wrap(channel.refunds, ['refund', 'query'], 'refunds');
  const wrapped = killer.wrap(channel, ['pay', 'query', 'reverse'], 'channel');
  const ports: Ports = {
    ...base.ports,
    channels: {
      get: () =>
        new Proxy(wrapped, { get: (t, p) => (p === 'refunds' ? wrappedRefunds : Reflect.get(t, p)) }),
    },
    workflow: killer.wrap(base.ports.workflow, ['startSettlement'], 'workflow'),
  };
  const pay = { ...request('00'), total_fee: 10_000 };
  await submitPayment(ports, testMerchant, pay).catch(ignoreDeath);
  // The payment's own kill points are the tests above; these runs kill from the first refund on.
  const paymentOps = killer.count;
  const key = { merchant_id: testMerchant.merchant_id, mch_trade_id: pay.mch_trade_id };
  const refund = (no: string, fee: number) =>
    submitRefund(ports, testMerchant, { ...key, out_refund_no: no, refund_fee: fee }).catch(ignoreDeath);
  await refund('R-first', Number(`1${suffix}`));
  await refund('R-second', 200);
  const executions = new Map<string, Execution>();
  const seen = new Set<string>();
  let nextSweep = clock.time + sweepIntervalMs;
  for (let round = 0; round < 400; round++) {
    for (const [name, input] of base.workflow.started) {
      if (seen.has(name)) continue;
      seen.add(name);
      executions.set(name, { input, action: 'begin', at: clock.time });
    }
    const [name, execution] = [...executions].sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
    if (name && execution && execution.at < nextSweep) {
      clock.time = Math.max(clock.time, execution.at);
      try {
        const plan = await runSettlementStep(ports, {
          ...execution.input,
          seq: execution.plan?.seq ?? execution.input.seq,
          action: execution.action,
          plan: execution.plan,
        });
        execution.plan = plan;
        execution.at = Date.parse(plan.at);
        if (plan.next === 'done' || plan.next === 'failed') executions.delete(name);
        else execution.action = plan.next;
      } catch (error) {
        ignoreDeath(error);
        executions.delete(name);
      }
      continue;
    }
    const order = await base.orders.get(key);
    if (!execution && (!order || order.settle_due_at === undefined)) break;
    clock.time = Math.max(clock.time, nextSweep);
    nextSweep += sweepIntervalMs;
    await sweepDueOrders(ports).catch(ignoreDeath);
  }
  return { order: await base.orders.get(key), channel, killer, executions, unfindable, paymentOps };
}

/** The refund rules that a run can break (SPEC section 8), as one list of problems. */
function refundProblems(run: Awaited<ReturnType<typeof refundScenario>>): string[] {
  const found: string[] = [];
  const { order, channel } = run;
  if (!order) return ['the paid order is gone'];
  for (const lost of run.unfindable) found.push(`no wake-up ahead of the sweep for ${lost}`);
  const problem = leaseProblem(order);
  if (problem) found.push(problem);
  if (order.settle_due_at !== undefined) found.push('a refund was left open');
  if (run.executions.size > 0) found.push('executions still running');
  const known = new Map((order.refunds ?? []).map((r) => [r.refund_id, r]));
  let taken = 0;
  for (const [number, entry] of channel.refundLedger) {
    const refund = known.get(number);
    if (entry.state === 'SUCCESS') taken += entry.fee;
    if (!refund) {
      found.push(`the channel has refund ${number} (${entry.state}) the order does not know`);
      continue;
    }
    if ((refund.status === 'REFUNDED') !== (entry.state === 'SUCCESS')) {
      found.push(`refund ${refund.out_refund_no} is ${refund.status} but the channel has ${entry.state}`);
    }
    if ((refund.status === 'ABNORMAL') !== (entry.state === 'CHANGE')) {
      found.push(`refund ${refund.out_refund_no} is ${refund.status} but the channel has ${entry.state}`);
    }
  }
  if (taken > order.total_fee) found.push(`the channel refunded ${taken} of ${order.total_fee}`);
  for (const refund of order.refunds ?? []) {
    if (!['REFUNDED', 'FAILED', 'ABNORMAL'].includes(refund.status))
      found.push(`refund left ${refund.status}`);
  }
  return found;
}

describe('refunds: a process killed at any point leaves every refund final and agreeing with the channel', () => {
  for (const suffix of ['00', '01', '03', '04', '05', '06', '07']) {
    it(`refund_fee …${suffix} then another, killed before and after each write, channel call and start`, async () => {
      const clean = await refundScenario(suffix);
      assert.deepEqual(refundProblems(clean), [], 'no crash');
      const killed = new Set<string>();
      for (let at = clean.paymentOps; at < clean.killer.count; at++) {
        for (const side of ['before', 'after'] as const) {
          const run = await refundScenario(suffix, { at, side });
          assert.ok(run.killer.fired, `killed ${side} op ${at}: the kill never fired`);
          killed.add(run.killer.killedAt ?? '');
          assert.deepEqual(
            refundProblems(run),
            [],
            `killed ${side} op ${at}: ${JSON.stringify(run.killer.log.map((e) => e.op))}`,
          );
        }
      }
      for (const op of ['refunds.refund', 'tables.updateOrder', 'workflow.startSettlement']) {
        assert.ok(killed.has(op), `no run was killed at ${op}`);
      }
    });
  }
});
