import type { CommonPaymentDetails, OrderField } from '#core/channels/channel.ts';
import { fenToYuan } from '#core/money.ts';
import { openRefunds, type Refund, refundedFee } from '#core/refunds/refund.ts';

/** Internal order states (SPEC section 3). */
export type OrderState =
  | 'CREATED'
  | 'PAYING'
  | 'PAID'
  | 'FAILED'
  | 'REVERSING'
  | 'REVERSED'
  | 'CLOSED'
  | 'REVERSE_FAILED';

/** The `trade_state` a merchant sees for each internal state. */
export const tradeStateOf: Readonly<Record<OrderState, number>> = {
  CREATED: 6,
  PAYING: 6,
  PAID: 0,
  FAILED: 7,
  REVERSING: 5,
  REVERSED: 4,
  CLOSED: 3,
  REVERSE_FAILED: 5,
};

/** Which state may follow which. Anything else is refused, so an old outcome never overwrites a newer one. */
const transitions: Readonly<Record<OrderState, readonly OrderState[]>> = {
  CREATED: ['PAYING', 'PAID', 'FAILED', 'CLOSED', 'REVERSING', 'REVERSED'],
  PAYING: ['PAID', 'FAILED', 'CLOSED', 'REVERSING', 'REVERSED'],
  PAID: ['REVERSING'],
  // FAILED and CLOSED only for an order the channel never took money for (see `canTransition`): a pay the
  // channel refused while the merchant was already cancelling it.
  REVERSING: ['REVERSED', 'FAILED', 'CLOSED', 'REVERSE_FAILED'],
  REVERSE_FAILED: ['REVERSING', 'REVERSED', 'CLOSED'],
  FAILED: [],
  REVERSED: [],
  CLOSED: [],
};

/**
 * Whether `order` may move to `to`. An order whose payment was recorded (`paid_at`) can only end reversed
 * (or waiting for an operator): no answer may declare its money never taken.
 */
export function canTransition(order: Pick<Order, 'state' | 'paid_at'>, to: OrderState): boolean {
  if (order.state === to) return true;
  if (!transitions[order.state].includes(to)) return false;
  return !(order.paid_at !== undefined && (to === 'FAILED' || to === 'CLOSED'));
}

/** States in which no settlement needs to run. REVERSE_FAILED waits for an operator (and alarms). */
export function isSettled(state: OrderState): boolean {
  return (
    state === 'PAID' ||
    state === 'FAILED' ||
    state === 'REVERSED' ||
    state === 'CLOSED' ||
    state === 'REVERSE_FAILED'
  );
}

/**
 * SPEC section 3, invariant 2, where it is enforced: an order that is not final always holds a settlement
 * lease (`settle_due_at`), so a sweep finds it whatever process dies; a final one holds none. Every store
 * checks each order it writes with this, so no writer can break it.
 */
export function leaseProblem(
  order: Pick<Order, 'state' | 'settle_due_at' | 'trade_id' | 'refunds'>,
): string | undefined {
  const open = needsSettlement(order);
  const what = `${order.state}${openRefunds(order).length > 0 ? ' with a refund in flight' : ''}`;
  if (open && order.settle_due_at === undefined) {
    return `order ${order.trade_id} would be ${what} without a settlement lease`;
  }
  if (!open && order.settle_due_at !== undefined) {
    return `order ${order.trade_id} would be ${what} and still hold a settlement lease`;
  }
  return undefined;
}

/**
 * Whether something is left to settle: the payment's outcome, or a refund not final (SPEC section 8: a refund
 * holds a lease exactly as an order does, and it is the order's, so one settlement serves both).
 */
export function needsSettlement(order: Pick<Order, 'state' | 'refunds'>): boolean {
  return !isSettled(order.state) || openRefunds(order).length > 0;
}

/** One channel call made for an order, kept on the order for finance and support. */
export interface SettlementAttempt {
  /** ISO-8601 UTC time the answer (or its absence) was recorded. */
  readonly at: string;
  readonly action: 'pay' | 'query' | 'reverse';
  /** What the channel said of the outcome (`SUCCESS`, `USERPAYING`, `TIMEOUT`, `recall=Y`, …). */
  readonly result: string;
  readonly detail?: string;
}

/**
 * The order record: one flat DynamoDB item, the shape finance queries (SPEC section 7). Beside these fields it
 * carries the payment fields of its channel (`ChannelDescriptor.orderFields`), read by name.
 */
export type Order = OrderRecord & { readonly [channelField: string]: unknown };

/** The order record's own fields, whatever its channel. */
export interface OrderRecord extends CommonPaymentDetails {
  readonly merchant_id: string;
  readonly mch_trade_id: string;
  readonly trade_id: string;
  readonly pay_type: string;
  readonly channel: string;
  readonly total_fee: number;
  readonly state: OrderState;
  readonly trade_state: number;
  readonly body: string;
  readonly subject?: string;
  readonly attach?: string;
  readonly device_info?: string;
  readonly store_id?: string;
  readonly op_user_id?: string;
  readonly op_device_id?: string;
  readonly goods_tag?: string;
  readonly spbill_create_ip?: string;
  readonly time_start?: number;
  readonly time_expire?: number;
  readonly auth_code_masked: string;
  /** HMAC of the business parameters, keyed with the merchant key: tells a retry from a conflicting reuse. */
  readonly request_fingerprint: string;
  /**
   * Random, made by the submit that wrote the order: when a retried write (its first answer lost) finds the order
   * already there, the token says it is this submit's own, which must go on to pay, not a duplicate's.
   */
  readonly create_token?: string;
  readonly err_code?: string;
  readonly err_msg?: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly paid_at?: string;
  readonly settlement: readonly SettlementAttempt[];
  /** Settlement lease: while set, a sweep restarts settlement once this ISO time has passed. */
  readonly settle_due_at?: string;
  /**
   * Settlement fencing token: every claim of the order by a settlement (a start, or a step about to call the
   * channel) increments it with a conditional write, and a step whose token is stale stops. So one order
   * has one settlement at a time, and each channel call is made by one of them.
   */
  readonly settle_seq?: number;
  /** ISO time the pay request was sent (the 15 s reverse floor counts from it). */
  readonly pay_sent_at?: string;
  /** ISO time a query found the payment refunded (trade_state 1); the payment record stays. */
  readonly refund_noted_at?: string;
  /** What the channel says its reverse did, where it says (Alipay's cancel: `close` or `refund`). */
  readonly reverse_action?: string;
  /** Refunds of a paid order, oldest first (SPEC section 8); absent until the first. */
  readonly refunds?: readonly Refund[];
  /**
   * The lease is a planned wake-up, not a running settlement (a refund waiting minutes or hours for its next
   * query): the sweep starts the next step when it ends, without reporting a restart.
   */
  readonly settle_parked?: boolean;
  readonly version: number;
}

/**
 * The fields of an order a merchant sees (`data` of the API responses): the common ones, then those its channel
 * adds (`channelFields`, its descriptor's `orderFields`) that the API shows.
 */
export function toMerchantView(
  order: Order,
  channelFields: readonly OrderField[] = [],
): Record<string, unknown> {
  const view: Record<string, unknown> = {
    merchant_id: order.merchant_id,
    pay_type: order.pay_type,
    mch_trade_id: order.mch_trade_id,
    trade_id: order.trade_id,
    ch_trade_id: order.ch_trade_id,
    out_trade_id: order.out_trade_id,
    total_fee: order.total_fee,
    trade_state: order.trade_state,
    need_query: isSettled(order.state) && order.state !== 'REVERSE_FAILED' ? 'N' : 'Y',
    time_end: order.time_end,
    fee_type: order.fee_type ?? 'CNY',
    cash_fee: cashFeeInOrderCurrency(order),
    coupon_fee: order.coupon_fee,
    bank_type: order.bank_type,
    openid: order.openid,
    sub_openid: order.sub_openid,
    appid: order.appid,
    sub_appid: order.sub_appid,
    is_subscribe: order.is_subscribe,
    sub_is_subscribe: order.sub_is_subscribe,
    attach: order.attach,
    device_info: order.device_info,
    refunded_fee: refundedFee(order.refunds),
    err_code: order.err_code,
    err_msg: order.err_msg,
  };
  for (const field of channelFields) {
    const value = order[field.name];
    if (field.view === 'as-is') view[field.name] = value;
    // An amount in fen is shown as the merchant documents show the channel's (seed 002): a yuan string.
    if (field.view === 'yuan') view[field.name] = typeof value === 'number' ? fenToYuan(value) : undefined;
  }
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined));
}

/**
 * `cash_fee` as the merchant documents mean it: in the order's currency. A cash amount the channel reports in
 * another currency (WeChat charges HKD orders in CNY) stays on the order record, with its `cash_fee_type`,
 * for finance, and is not shown where a POS would read it as HK cents.
 */
function cashFeeInOrderCurrency(order: Order): number | undefined {
  const inOrderCurrency =
    order.cash_fee_type === undefined || order.cash_fee_type === (order.fee_type ?? 'CNY');
  return inOrderCurrency ? order.cash_fee : undefined;
}
