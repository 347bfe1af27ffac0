import type {
  Channel,
  ChannelContext,
  ChannelOrder,
  QueryResult,
  QuerySchedule,
  RefundResult,
  ReverseResult,
} from '#core/channels/channel.ts';
import { applyDecision, type Decision, nextState, toState } from '#core/orders/changes.ts';
import { isSettled, type Order, type SettlementAttempt } from '#core/orders/order.ts';
import type { Ports, SettlementInput } from '#core/ports.ts';
import { refundCallDue, refundEvents, withOverdueNoted } from '#core/refunds/follow.ts';
import { openRefunds } from '#core/refunds/refund.ts';
import { refundChanges, refundCommand, refundContext } from '#core/refunds/submit.ts';
import {
  callLeaseEnd,
  leaseCovers,
  leaseOverCallAt,
  payLeaseEnd,
  renew,
  Superseded,
} from '#core/settlement/lease.ts';
import { iso, scaled } from '#core/time.ts';

/** What the state machine asks a step to do (the `action` of its Task states). */
export type StepAction = 'begin' | 'query' | 'reverse' | 'give_up' | 'refund';

/** What comes next, for the state machine's Choice and Wait states. */
export interface StepPlan {
  readonly next: 'query' | 'reverse' | 'refund' | 'done' | 'give_up' | 'failed';
  /** ISO time the next step is due (the Wait state's TimestampPath). */
  readonly at: string;
  /** The fencing token this settlement holds; the next step passes it back. */
  readonly seq: number;
  /** Queries and reverses made so far in this settlement. */
  readonly queries: number;
  readonly reverses: number;
  readonly state: Order['state'];
  readonly trade_state: number;
  /**
   * Channel calls made but not yet written to the order's history: an answer that changes nothing is not
   * worth a write of its own, so it rides along with the next write of this settlement.
   */
  readonly unrecorded: readonly SettlementAttempt[];
}

export interface StepInput extends SettlementInput {
  readonly action: StepAction;
  readonly plan?: Partial<Pick<StepPlan, 'queries' | 'reverses' | 'unrecorded'>>;
}

/** Waits longer than this end the execution with a parked lease (Express bills the time it waits). */
const parkAfterMs = 60_000;

/** When the next step would be due, given what was just done; the planner picks by the order's state. */
interface Candidates {
  readonly queryAt: number;
  /** When to reverse next, or `give_up` when the reverse schedule is exhausted. */
  readonly reverseAt: number | 'give_up';
}

/** What a step did: the order it acted on, the channel call it made (if any) and what the answer changes. */
interface Done {
  readonly order: Order;
  readonly attempt?: SettlementAttempt;
  /** The changes the step's outcome makes to the latest order. */
  readonly changes: (latest: Order) => Partial<Order>;
  /** Only the holder of the token may write these changes (a give-up); an answer's changes are kept by anyone. */
  readonly ownerOnly?: boolean;
  readonly candidates: Candidates;
}

interface Planned {
  readonly next: StepPlan['next'];
  readonly at: number;
  /** Changes the plan needs written with it: the lease past the next step, or the move to REVERSING. */
  readonly changes: Partial<Order>;
}

/** The decision `record` writes: the changes, the plan, and whether this write makes the order final. */
interface Recorded {
  readonly write: Partial<Order> | undefined;
  readonly planned: Planned;
  readonly finalNow: boolean;
  readonly refunds: ReturnType<typeof refundEvents>;
}

/**
 * One step of the settlement protocol (SPEC section 4), run by a Task of the state machine. Which step
 * comes next and when is computed from the channel's protocol table; the state machine only waits and
 * routes. Before every channel call the step takes the next fencing token (a conditional write), so two
 * executions of one order (a restart beside a slow one, an at-least-once duplicate) never both call the
 * channel: the one that loses stops. A step reads top to bottom: what is due, do it, record it.
 */
export async function runSettlementStep(ports: Ports, input: StepInput): Promise<StepPlan> {
  const order = await ports.orders.get(input);
  if (!order) throw new Error(`order ${input.trade_id} not found`);
  const channel = ports.channels.get(order.channel);
  if (!channel) throw new Error(`channel ${order.channel} is not configured`);
  const step = new Step(ports, channel, input, order);
  try {
    if ((order.settle_seq ?? 0) !== input.seq) throw new Superseded();
    return await step.record(await step.act(order, input.action));
  } catch (error) {
    if (!(error instanceof Superseded)) throw error;
    ports.log.info('settlement superseded by a newer claim; this one stops', {
      trade_id: order.trade_id,
      seq: input.seq,
    });
    return step.result(order, 'done', ports.clock.now());
  }
}

class Step {
  private readonly ports: Ports;
  private readonly channel: Channel;
  private seq: number;
  private readonly counts: { queries: number; reverses: number };
  private unrecorded: SettlementAttempt[];

  constructor(ports: Ports, channel: Channel, input: StepInput, order: Order) {
    this.ports = ports;
    this.channel = channel;
    this.seq = input.seq;
    // A settlement that starts afresh (a sweep's restart of one that died, an at-least-once duplicate) goes
    // on from the queries the order's history records: "up to 6 queries" is per order, not per execution,
    // and a protocol that counts its queries from the pay answer keeps its grid. Reverses start again: an
    // operator's retry of a REVERSE_FAILED order gets the whole reverse schedule.
    const recordedQueries = order.settlement.filter((attempt) => attempt.action === 'query').length;
    this.counts = {
      queries: input.plan?.queries ?? recordedQueries,
      reverses: input.plan?.reverses ?? 0,
    };
    this.unrecorded = [...(input.plan?.unrecorded ?? [])];
  }

  /** Does what the state machine asked, when the order still calls for it; otherwise only plans from here. */
  async act(order: Order, action: StepAction): Promise<Done> {
    const now = this.ports.clock.now();
    if (action === 'refund') {
      return isSettled(order.state) && openRefunds(order).length > 0
        ? this.refund(order)
        : this.replan(order, now);
    }
    if (action === 'give_up') return this.giveUp(order, now);
    if (action === 'query' && (order.state === 'REVERSING' || isSettled(order.state)))
      return this.replan(order, now);
    if (action === 'query') return this.query(order);
    if (action === 'reverse' && order.state !== 'REVERSING') return this.replan(order, now);
    if (action === 'reverse') {
      const floor = this.reverseNotBefore(order);
      if (now < floor)
        return { order, changes: () => ({}), candidates: { queryAt: floor, reverseAt: floor } };
      return this.reverse(order);
    }
    return this.replan(order, now);
  }

  /** No call: plan the next step from the order as it is (a first step, or one the order no longer calls for). */
  private replan(order: Order, now: number): Done {
    const queryAt = this.nextQueryAt(order, now, this.waitMs(this.schedule(order).firstQueryDelayMs));
    return { order, changes: () => ({}), candidates: { queryAt, reverseAt: now } };
  }

  private async query(order: Order): Promise<Done> {
    const interval = this.waitMs(this.schedule(order).queryIntervalMs);
    const claimed = await this.renew(order, interval);
    if (isSettled(claimed.state) || claimed.state === 'REVERSING')
      return this.replan(claimed, this.ports.clock.now());
    const result = await this.channel
      .query(await this.context(claimed), channelOrder(claimed), this.callDeadline())
      .catch((): QueryResult => ({ kind: 'unknown', said: 'ERROR' }));
    this.counts.queries += 1;
    const now = this.ports.clock.now();
    return {
      order: claimed,
      attempt: { at: iso(now), action: 'query', result: result.said },
      changes: () => queryChanges(result, now),
      candidates: { queryAt: this.nextQueryAt(claimed, now, interval), reverseAt: now },
    };
  }

  private async reverse(order: Order): Promise<Done> {
    const retryDelay = this.channel.protocol.reverseRetryDelaysMs[this.counts.reverses];
    const claimed = await this.renew(order, this.waitMs(retryDelay ?? 0));
    if (claimed.state !== 'REVERSING') return this.replan(claimed, this.ports.clock.now());
    const result = await this.channel
      .reverse(await this.context(claimed), channelOrder(claimed), this.callDeadline())
      .catch((): ReverseResult => ({ kind: 'unknown', said: 'ERROR' }));
    this.counts.reverses += 1;
    const now = this.ports.clock.now();
    return {
      order: claimed,
      attempt: { at: iso(now), action: 'reverse', result: result.said },
      changes: () =>
        result.kind === 'reversed' ? { ...toState('REVERSED'), reverse_action: result.action } : {},
      candidates: {
        queryAt: now,
        reverseAt: retryDelay === undefined ? 'give_up' : now + this.waitMs(retryDelay),
      },
    };
  }

  /**
   * The order's oldest open refund, one channel call: sent (again, under the same number) until the channel
   * accepts it, then queried until final. Refunds of one order go one at a time, under the order's token.
   */
  private async refund(order: Order): Promise<Done> {
    const refunds = this.channel.refunds;
    if (!refunds) return this.replan(order, this.ports.clock.now());
    const claimed = await this.renew(order, this.waitMs(refunds.protocol.queryDelaysMs[0]));
    const current = openRefunds(claimed)[0];
    if (!current || !isSettled(claimed.state)) return this.replan(claimed, this.ports.clock.now());
    const action = current.status === 'CREATED' ? 'refund' : 'refund_query';
    const deadline = scaled(refunds.protocol.callDeadlineMs, this.ports.deadlineScale);
    const command = refundCommand(claimed, current);
    const context = await refundContext(this.ports, claimed);
    const result = await (action === 'refund'
      ? refunds.refund(context, command, deadline)
      : refunds.query(context, command, deadline)
    ).catch((): RefundResult => ({ kind: 'unknown', said: 'ERROR' }));
    if (action === 'refund') this.ports.telemetry.refundAnswered(this.channel.name, result.kind);
    const now = this.ports.clock.now();
    const wait = (ms: number) => this.waitMs(ms);
    return {
      order: claimed,
      changes: (latest) => {
        const changes = refundChanges(latest, current.refund_id, action, result, now) ?? {};
        const list = (changes.refunds ?? latest.refunds ?? []).map((r) =>
          withOverdueNoted(r, refunds.protocol, now, wait),
        );
        return { ...changes, refunds: list };
      },
      candidates: { queryAt: now, reverseAt: now },
    };
  }

  /** Reverse kept failing: the order stays visible as reversing (5), marked for an operator, and alarms. */
  private giveUp(order: Order, now: number): Done {
    return {
      ...this.replan(order, now),
      changes: (latest) => (latest.state === 'REVERSING' ? toState('REVERSE_FAILED') : {}),
      ownerOnly: true,
    };
  }

  result(order: Order, next: StepPlan['next'], at: number): StepPlan {
    return {
      next,
      at: iso(at),
      seq: this.seq,
      ...this.counts,
      state: order.state,
      trade_state: order.trade_state,
      unrecorded: this.unrecorded,
    };
  }

  private waitMs(protocolMs: number): number {
    return scaled(protocolMs, this.ports.timeScale);
  }

  private callDeadline(): number {
    return scaled(this.channel.protocol.callDeadlineMs, this.ports.deadlineScale);
  }

  /**
   * Takes the next fencing token before a channel call. Its lease outlasts the call and the wait that
   * follows when the answer changes nothing (`gapMs`), so such an answer needs no write of its own.
   */
  private async renew(order: Order, gapMs: number): Promise<Order> {
    const leaseUntil = callLeaseEnd(this.ports, this.channel.protocol, this.ports.clock.now() + gapMs);
    const { order: claimed, wrote } = await this.write(order, (latest) => ({
      write: renew(latest, this.seq, leaseUntil),
    }));
    if (wrote) this.seq += 1;
    return claimed;
  }

  /** A conditional write of this settlement; it carries the attempts not yet written. */
  private async write<D extends Decision>(order: Order, decide: (latest: Order) => D) {
    const applied = await applyDecision(this.ports.orders, order, decide, this.unrecorded);
    if (applied.wrote) this.unrecorded = [];
    return applied;
  }

  /**
   * Writes what a step learnt and the plan that follows in one conditional write: the answer's changes,
   * the settlement attempts, and the lease past the next step (or its removal when the order is final).
   * An answer that changes nothing, with a lease that already covers the next step, is not written: its
   * attempt waits for the next write. A newer claim made meanwhile keeps the answer but ends this settlement.
   */
  async record(done: Done): Promise<StepPlan> {
    if (done.attempt) this.unrecorded.push(done.attempt);
    const { order: saved, decision } = await this.write(done.order, (latest) => this.decide(latest, done));
    if (decision.finalNow && isSettled(saved.state)) this.announce(saved);
    for (const refund of decision.refunds.settled) this.ports.telemetry.refundSettled(saved, refund);
    for (const refund of decision.refunds.overdue) this.ports.telemetry.refundOverdue(saved, refund);
    for (const refund of decision.refunds.settled.filter((r) => r.status === 'ABNORMAL')) {
      this.ports.log.error('refund abnormal (CHANGE): the shopper did not get the money back; act by hand', {
        merchant_id: saved.merchant_id,
        trade_id: saved.trade_id,
        refund_id: refund.refund_id,
      });
    }
    if ((saved.settle_seq ?? 0) !== this.seq) throw new Superseded();
    const next = decision.finalNow && saved.state === 'REVERSE_FAILED' ? 'failed' : decision.planned.next;
    return this.result(saved, next, decision.planned.at);
  }

  private decide(latest: Order, done: Done): Recorded {
    const owner = (latest.settle_seq ?? 0) === this.seq;
    if (!owner && done.ownerOnly) throw new Superseded();
    const changes = done.changes(latest);
    const planned = owner
      ? this.plan(latest, changes, done.candidates)
      : { next: 'done' as const, at: 0, changes: {} };
    const all = effective(latest, { ...changes, ...planned.changes });
    const { settle_due_at: _lease, ...rest } = all;
    const finalNow = !isSettled(latest.state) && isSettled(nextState(latest, all));
    const carried =
      owner &&
      planned.next !== 'done' &&
      leaseCovers(this.ports, latest, planned.at) &&
      Object.keys(rest).length === 0;
    const worth = !carried && (this.unrecorded.length > 0 || Object.keys(all).length > 0);
    const refunds = worth
      ? refundEvents(latest, { refunds: all.refunds ?? latest.refunds })
      : { settled: [], overdue: [] };
    return { write: worth ? all : undefined, planned, finalNow, refunds };
  }

  /** Telemetry and logs for an order this step made final; a REVERSE_FAILED one also alarms. */
  private announce(order: Order): void {
    if (order.state !== 'REVERSE_FAILED') {
      this.ports.telemetry.settled(order);
      return;
    }
    this.ports.telemetry.reverseFailed(order);
    this.ports.telemetry.settled(order);
    this.ports.log.error('reverse kept failing; order needs an operator', {
      merchant_id: order.merchant_id,
      trade_id: order.trade_id,
      reverses: this.counts.reverses,
    });
  }

  /** The next step for `order` once `changes` apply, and the lease that covers it. */
  private plan(order: Order, changes: Partial<Order>, candidates: Candidates): Planned {
    const now = this.ports.clock.now();
    const state = nextState(order, changes);
    if (isSettled(state)) {
      const open = openRefunds({ refunds: changes.refunds ?? order.refunds })[0];
      const refunds = this.channel.refunds;
      if (!open || !refunds) return { next: 'done', at: now, changes: {} };
      const at = refundCallDue(open, refunds.protocol, now, (ms) => this.waitMs(ms));
      // A wait longer than an execution should hold is a parked lease: the sweep starts the next step then.
      if (at - now > this.waitMs(parkAfterMs)) {
        return { next: 'done', at, changes: { settle_due_at: iso(at), settle_parked: true } };
      }
      return { next: 'refund', at, changes: leaseOverCallAt(this.ports, refunds.protocol, at) };
    }
    const lease = (at: number) => leaseOverCallAt(this.ports, this.channel.protocol, at);
    const reverseAt = (from: number) => Math.max(from, this.reverseNotBefore({ ...order, ...changes }));
    if (state === 'REVERSING') {
      if (candidates.reverseAt === 'give_up') return { next: 'give_up', at: now, changes: lease(now) };
      const at = reverseAt(candidates.reverseAt);
      return { next: 'reverse', at, changes: lease(at) };
    }
    const protocol = this.channel.protocol;
    const windowEnd =
      protocol.queryWindowMs === undefined
        ? Number.POSITIVE_INFINITY
        : this.paySent(order) + this.waitMs(protocol.queryWindowMs);
    // The window's last query is at its end: a grid that steps past it queries there once more, so a shopper
    // still paying inside the window is seen before the reverse (BlueOcean's 201: 10, 20 and 30 s).
    const queryAt = now < windowEnd ? Math.min(candidates.queryAt, windowEnd) : candidates.queryAt;
    if (this.counts.queries < protocol.maxQueries && queryAt <= windowEnd) {
      return { next: 'query', at: queryAt, changes: lease(queryAt) };
    }
    // Out of queries with the outcome still open: cancel the payment so it can never complete unseen.
    const at = reverseAt(now);
    return { next: 'reverse', at, changes: { ...toState('REVERSING'), ...lease(at) } };
  }

  /**
   * The channel's reverse floor ("not within 15 s of the payment") counts from the latest moment the payment
   * may have happened: the pay request sent, its answer received, or the channel's own `time_end` (to the end
   * of its second; never later than when we recorded it paid, so a skewed channel clock cannot hold it back).
   */
  private reverseNotBefore(order: Order): number {
    const answeredAt = order.settlement.find((attempt) => attempt.action === 'pay')?.at;
    const completedAt =
      order.time_end === undefined
        ? undefined
        : Math.min((order.time_end + 1) * 1000, Date.parse(order.paid_at ?? iso(this.ports.clock.now())));
    const payment = Math.max(
      this.paySent(order),
      answeredAt === undefined ? 0 : Date.parse(answeredAt),
      completedAt ?? 0,
    );
    return payment + this.waitMs(this.channel.protocol.reverseNotBeforeMs);
  }

  /** When the pay request was sent, or (never recorded) when the submit's lease ran out. */
  private paySent(order: Order): number {
    return order.pay_sent_at !== undefined
      ? Date.parse(order.pay_sent_at)
      : payLeaseEnd(this.ports, this.channel.protocol, Date.parse(order.created_at));
  }

  /**
   * When the next query is due: `delayMs` from now, or for a protocol that counts its queries from the pay
   * answer, the next point of that grid (never in the past).
   */
  private nextQueryAt(order: Order, now: number, delayMs: number): number {
    const answeredAt = order.settlement.find((attempt) => attempt.action === 'pay')?.at;
    if (!this.channel.protocol.queriesFromPayAnswer || answeredAt === undefined) return now + delayMs;
    const schedule = this.schedule(order);
    const grid =
      Date.parse(answeredAt) +
      this.waitMs(schedule.firstQueryDelayMs) +
      this.counts.queries * this.waitMs(schedule.queryIntervalMs);
    return Math.max(now, grid);
  }

  /** The query schedule: the one the channel's table gives for the pay answer, or its default. */
  private schedule(order: Order): QuerySchedule {
    const payAnswer = order.settlement.find((attempt) => attempt.action === 'pay')?.result;
    const protocol = this.channel.protocol;
    return (payAnswer !== undefined ? protocol.scheduleAfter?.[payAnswer] : undefined) ?? protocol;
  }

  private async context(order: Order): Promise<ChannelContext> {
    const merchant = await this.ports.merchants.get(order.merchant_id);
    const route = merchant?.pay_types[order.pay_type as keyof typeof merchant.pay_types];
    if (!merchant || !route)
      throw new Error(`merchant ${order.merchant_id} has no route for ${order.pay_type}`);
    return { account: route.account, credentials: merchant.secret.channels[order.channel] ?? {} };
  }
}

/** The changes that would alter something: fields already holding the same value are left out. */
function effective(order: Order, changes: Partial<Order>): Partial<Order> {
  const current = order as unknown as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(changes).filter(([name, value]) => current[name] !== value),
  ) as Partial<Order>;
}

function channelOrder(order: Order): ChannelOrder {
  return { out_trade_no: order.trade_id, total_fee: order.total_fee };
}

function queryChanges(result: QueryResult, now: number): Partial<Order> {
  switch (result.kind) {
    case 'paid':
      return {
        ...toState('PAID'),
        ...result.details,
        paid_at: iso(now),
        ...(result.refunded ? { trade_state: 1, refund_noted_at: iso(now) } : {}),
      };
    case 'failed':
      return { ...toState('FAILED'), err_code: result.errCode, err_msg: result.errMsg };
    case 'closed':
      return toState('CLOSED');
    case 'reversed':
      return toState('REVERSED');
    default:
      return toState('PAYING');
  }
}
