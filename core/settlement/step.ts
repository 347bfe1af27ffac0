import type { Channel, QueryResult, ReverseResult } from '#core/channels/channel.ts';
import { applyChange, toState } from '#core/orders/changes.ts';
import { isSettled, type Order } from '#core/orders/order.ts';
import type { Ports, SettlementInput } from '#core/ports.ts';
import { iso, scaled } from '#core/time.ts';

/** What the state machine asks a step to do (the `action` of its Task states). */
export type StepAction = 'begin' | 'query' | 'reverse' | 'give_up';

/** What comes next, for the state machine's Choice and Wait states. */
export interface StepPlan {
  readonly next: 'query' | 'reverse' | 'done' | 'give_up' | 'failed';
  /** ISO time the next step is due (the Wait state's TimestampPath). */
  readonly at: string;
  /** Queries and reverses made so far in this settlement. */
  readonly queries: number;
  readonly reverses: number;
  readonly state: Order['state'];
  readonly trade_state: number;
}

export interface StepInput extends SettlementInput {
  readonly action: StepAction;
  readonly plan?: Partial<Pick<StepPlan, 'queries' | 'reverses'>>;
}

/**
 * One step of the settlement protocol (SPEC section 4), run by a Task of the state machine. Which step
 * comes next and when is computed from the channel's protocol table; the state machine only waits and routes.
 */
export async function runSettlementStep(ports: Ports, input: StepInput): Promise<StepPlan> {
  const order = await ports.orders.get(input);
  if (!order) throw new Error(`order ${input.trade_id} not found`);
  const channel = ports.channels.get(order.channel);
  if (!channel) throw new Error(`channel ${order.channel} is not configured`);
  const counts = { queries: input.plan?.queries ?? 0, reverses: input.plan?.reverses ?? 0 };
  const step = new Step(ports, channel, counts);
  switch (input.action) {
    case 'begin':
      return step.plan(
        order,
        ports.clock.now() + scaled(channel.protocol.firstQueryDelayMs, ports.timeScale),
      );
    case 'query':
      return step.query(order);
    case 'reverse':
      return step.reverse(order);
    case 'give_up':
      return step.giveUp(order);
  }
}

class Step {
  private readonly ports: Ports;
  private readonly channel: Channel;
  private readonly counts: { queries: number; reverses: number };

  constructor(ports: Ports, channel: Channel, counts: { queries: number; reverses: number }) {
    this.ports = ports;
    this.channel = channel;
    this.counts = counts;
  }

  private ms(protocolMs: number): number {
    return scaled(protocolMs, this.ports.timeScale);
  }

  /** Decides the next step for `order`: query at `queryAt` while paying, reverse while reversing. */
  async plan(order: Order, queryAt: number): Promise<StepPlan> {
    if (isSettled(order.state)) return this.result(order, 'done', this.ports.clock.now());
    if (order.state === 'REVERSING') return this.scheduleReverse(order, this.ports.clock.now());
    return this.schedule(order, 'query', queryAt);
  }

  async query(order: Order): Promise<StepPlan> {
    if (isSettled(order.state) || order.state === 'REVERSING')
      return this.plan(order, this.ports.clock.now());
    const result = await this.channel
      .query(await this.context(order), order.trade_id, this.ms(this.channel.protocol.callDeadlineMs))
      .catch((): QueryResult => ({ kind: 'unknown', word: 'ERROR' }));
    this.counts.queries += 1;
    const now = this.ports.clock.now();
    const saved = await applyChange(this.ports.orders, order, () => queryChanges(result, now), {
      at: iso(now),
      action: 'query',
      result: result.word,
    });
    if (isSettled(saved.state) || saved.state === 'REVERSING') return this.plan(saved, now);
    if (this.counts.queries < this.channel.protocol.maxQueries) {
      return this.schedule(saved, 'query', now + this.ms(this.channel.protocol.queryIntervalMs));
    }
    // Out of queries with the outcome still open: cancel the payment so it can never complete unseen.
    const reversing = await applyChange(this.ports.orders, saved, () => toState('REVERSING'));
    return this.plan(reversing, now);
  }

  async reverse(order: Order): Promise<StepPlan> {
    if (order.state !== 'REVERSING') return this.plan(order, this.ports.clock.now());
    const notBefore = this.reverseNotBefore(order);
    if (this.ports.clock.now() < notBefore) return this.schedule(order, 'reverse', notBefore);
    const result = await this.channel
      .reverse(await this.context(order), order.trade_id, this.ms(this.channel.protocol.callDeadlineMs))
      .catch((): ReverseResult => ({ kind: 'unknown', word: 'ERROR' }));
    this.counts.reverses += 1;
    const now = this.ports.clock.now();
    const saved = await applyChange(
      this.ports.orders,
      order,
      () => (result.kind === 'reversed' ? { ...toState('REVERSED'), settle_due_at: undefined } : {}),
      { at: iso(now), action: 'reverse', result: result.word },
    );
    if (saved.state !== 'REVERSING') return this.plan(saved, now);
    const delays = this.channel.protocol.reverseRetryDelaysMs;
    const delay = delays[this.counts.reverses - 1];
    if (delay === undefined) return this.result(saved, 'give_up', now);
    return this.schedule(saved, 'reverse', now + this.ms(delay));
  }

  /** Reverse kept failing: the order stays visible as reversing (5), marked for an operator, and alarms. */
  async giveUp(order: Order): Promise<StepPlan> {
    const saved = await applyChange(this.ports.orders, order, (latest) =>
      latest.state === 'REVERSING' ? { ...toState('REVERSE_FAILED'), settle_due_at: undefined } : {},
    );
    if (saved.state === 'REVERSE_FAILED') {
      this.ports.alarms.reverseFailed(saved);
      this.ports.log.error('reverse kept failing; order needs an operator', {
        merchant_id: saved.merchant_id,
        trade_id: saved.trade_id,
        reverses: this.counts.reverses,
      });
      return this.result(saved, 'failed', this.ports.clock.now());
    }
    return this.plan(saved, this.ports.clock.now());
  }

  private scheduleReverse(order: Order, earliest: number): Promise<StepPlan> {
    return this.schedule(order, 'reverse', Math.max(earliest, this.reverseNotBefore(order)));
  }

  private reverseNotBefore(order: Order): number {
    return Date.parse(order.created_at) + this.ms(this.channel.protocol.reverseNotBeforeMs);
  }

  /** Plans the next step and moves the order's lease past it, so the sweep leaves a live settlement alone. */
  private async schedule(order: Order, next: 'query' | 'reverse', at: number): Promise<StepPlan> {
    const dueAt = at + this.ms(this.channel.protocol.callDeadlineMs) + this.ports.leaseGraceMs;
    const saved = await applyChange(this.ports.orders, order, (latest) =>
      isSettled(latest.state) ? {} : { settle_due_at: iso(dueAt) },
    );
    if (isSettled(saved.state)) return this.result(saved, 'done', this.ports.clock.now());
    return this.result(saved, next, at);
  }

  private result(order: Order, next: StepPlan['next'], at: number): StepPlan {
    return { next, at: iso(at), ...this.counts, state: order.state, trade_state: order.trade_state };
  }

  private async context(order: Order) {
    const merchant = await this.ports.merchants.get(order.merchant_id);
    const route = merchant?.pay_types[order.pay_type as keyof typeof merchant.pay_types];
    if (!merchant || !route)
      throw new Error(`merchant ${order.merchant_id} has no route for ${order.pay_type}`);
    return { account: route.account, credentials: merchant.secret.channels[order.channel] ?? {} };
  }
}

function queryChanges(result: QueryResult, now: number): Partial<Order> {
  switch (result.kind) {
    case 'paid':
      return { ...toState('PAID'), ...result.details, paid_at: iso(now), settle_due_at: undefined };
    case 'failed':
      return {
        ...toState('FAILED'),
        err_code: result.errCode,
        err_msg: result.errMsg,
        settle_due_at: undefined,
      };
    case 'closed':
      return { ...toState('CLOSED'), settle_due_at: undefined };
    case 'reversed':
      return { ...toState('REVERSED'), settle_due_at: undefined };
    default:
      return toState('PAYING');
  }
}
