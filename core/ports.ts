import type { Channel, OrderField } from '#core/channels/channel.ts';
import type { Merchant } from '#core/merchants.ts';
import type { Order, SettlementAttempt } from '#core/orders/order.ts';
import type { Refund } from '#core/refunds/refund.ts';

/** Identifies one order; the key of the orders table. */
export interface OrderKey {
  readonly merchant_id: string;
  readonly mch_trade_id: string;
}

/** Persistence of orders. Every write is conditional on the version read, so writers never lose updates. */
export interface OrderStore {
  /**
   * Writes a new order unless the merchant already has an order under the same order id (`core/ids.ts`: the
   * same `mch_trade_id`, or, with odds the ids module gives, another that collides); returns that one.
   */
  create(
    order: Order,
  ): Promise<{ readonly created: true } | { readonly created: false; readonly existing: Order }>;
  get(key: OrderKey): Promise<Order | undefined>;
  findByTradeId(merchantId: string, tradeId: string): Promise<Order | undefined>;
  /**
   * Applies `changes` if the stored version is still `order.version`, appends `attempts` to the settlement
   * history, and returns the new order. Throws StaleOrderError when someone else wrote first. Like `create`,
   * refuses (throws) a write whose result breaks the lease invariant (`leaseProblem`).
   */
  update(order: Order, changes: Partial<Order>, attempts?: readonly SettlementAttempt[]): Promise<Order>;
  /**
   * Orders whose settlement lease ran out by `nowIso` (about `limit` at most). Every order that holds a lease
   * is listed by some call after its lease runs out, and again later while it stays open and unclaimed, as
   * long as the sweep keeps calling.
   */
  listDue(nowIso: string, limit: number): Promise<DueOrders>;
  /**
   * Binds a merchant's refund number to one refund of one order, once and for ever (a conditional put); returns
   * the binding that holds: this one, or the one written first.
   */
  bindRefundNumber(binding: RefundBinding): Promise<RefundBinding>;
  /** Takes back a binding this writer made (its refund was refused after all); another's is left alone. */
  unbindRefundNumber(binding: RefundBinding): Promise<void>;
  /** The binding of a refund number, or of a refund id (which carries the number's hash). */
  findRefundBinding(
    merchantId: string,
    by: { readonly out_refund_no: string } | { readonly refund_id: string },
  ): Promise<RefundBinding | undefined>;
}

/** What a merchant's refund number names: one refund of one order, of one amount. */
export interface RefundBinding {
  readonly merchant_id: string;
  readonly out_refund_no: string;
  readonly refund_id: string;
  readonly mch_trade_id: string;
  readonly trade_id: string;
  readonly refund_fee: number;
}

/** What one look for due orders found. */
export interface DueOrders {
  /** Open orders whose lease ran out. */
  readonly due: readonly OrderKey[];
  /** When each open order looked at was created (due or not): the dashboard's open orders by age. */
  readonly openCreatedAt: readonly string[];
}

/** Looks merchants up (profile and secret), with caching that lets a rotated key in within minutes. */
export interface MerchantDirectory {
  get(merchantId: string): Promise<Merchant | undefined>;
}

/** What the settlement state machine is started with: the order key and nothing sensitive. */
export interface SettlementInput {
  readonly merchant_id: string;
  readonly mch_trade_id: string;
  readonly trade_id: string;
  /** The fencing token (`settle_seq`) the execution was started with. */
  readonly seq: number;
}

/** Starts settlement executions. Starting the same name twice must not run two executions. */
export interface Workflow {
  startSettlement(input: SettlementInput, executionName: string): Promise<void>;
}

export interface ChannelRegistry {
  get(name: string): Channel | undefined;
  /** The payment fields the channel adds to an order (how the API shows them); none when absent. */
  orderFields?(name: string): readonly OrderField[];
}

export interface Clock {
  now(): number;
}

/** What a submit told the merchant about the payment (the dashboard counts payments by it). */
export type PaymentOutcome = 'paid' | 'refused' | 'settling' | 'replayed';

/**
 * What operators watch: counts the domain reports as things happen, for the dashboard and the alarms
 * (Powertools metrics in AWS). Never given a payment code or a key.
 */
export interface Telemetry {
  /** A submit answered; `outcome` is what the merchant was told. */
  paymentAnswered(channel: string, outcome: PaymentOutcome): void;
  /** Settlement brought an order to a final state (REVERSE_FAILED included). */
  settled(order: Order): void;
  /** Reverse kept failing: the payment may still be held, an operator must act (this alarms). */
  reverseFailed(order: Order): void;
  /** The sweep restarted the settlement of an order whose lease ran out. */
  settlementRestarted(order: Order): void;
  /** How old the open orders are that one sweep looked at (milliseconds since each was created). */
  openOrders(agesMs: readonly number[]): void;
  /** A refund call answered (the kind of result; `unknown` and `retry` count as failed calls). */
  refundAnswered(channel: string, result: string): void;
  /** A refund reached a final state (ABNORMAL alarms: a person must act). */
  refundSettled(order: Order, refund: Refund): void;
  /** A refund is still not final after its channel's follow-up time (this alarms, once per refund). */
  refundOverdue(order: Order, refund: Refund): void;
}

/** Structured log sink (Powertools Logger fits it). Never given a payment code or a key. */
export interface Log {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** Everything the domain needs from the outside, passed in so tests can pass fakes. */
export interface Ports {
  readonly orders: OrderStore;
  readonly merchants: MerchantDirectory;
  readonly channels: ChannelRegistry;
  readonly workflow: Workflow;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly log: Log;
  /** Multiplies every protocol wait: query delays and gaps, the reverse floor and backoff (1 in production). */
  readonly timeScale: number;
  /** Multiplies every channel call's deadline (1 in production; a sandbox run may keep it above `timeScale`). */
  readonly deadlineScale: number;
  /** How long after a planned settlement step its lease runs out and a sweep takes over. */
  readonly leaseGraceMs: number;
}
