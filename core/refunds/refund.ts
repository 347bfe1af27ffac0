import type { Order } from '#core/orders/order.ts';

/**
 * A refund's states. CREATED: recorded and its amount reserved, not yet accepted by the channel (sent again
 * under the same number until it is). PROCESSING: accepted, not final. REFUNDED, FAILED (refused or closed:
 * nothing refunded, the amount is free again) and ABNORMAL (WeChat `CHANGE`: a person must act; the amount
 * stays reserved) are final.
 */
export type RefundStatus = 'CREATED' | 'PROCESSING' | 'REFUNDED' | 'FAILED' | 'ABNORMAL';

/** `refund_state` of the merchant API (SPEC section 8). */
export const refundStateOf: Readonly<Record<RefundStatus, number>> = {
  CREATED: 1,
  PROCESSING: 1,
  REFUNDED: 0,
  FAILED: 2,
  ABNORMAL: 3,
};

/** One channel call made for a refund. */
export interface RefundAttempt {
  readonly at: string;
  readonly action: 'refund' | 'refund_query';
  readonly result: string;
}

/**
 * One refund of an order, kept in the order's item (`refunds`, at most 50): so the amount a refund reserves is
 * checked and written in the same conditional write as the order, and the order's settlement lease and token
 * cover its refunds (one settlement, one channel call at a time, per order).
 */
export interface Refund {
  /** This gateway's id, and the refund number the channel knows (fixed before the first call). */
  readonly refund_id: string;
  readonly out_refund_no: string;
  readonly refund_fee: number;
  readonly refund_desc?: string;
  readonly op_user_id?: string;
  readonly status: RefundStatus;
  readonly ch_refund_id?: string;
  /** Epoch seconds the channel says it refunded. */
  readonly refund_time?: number;
  readonly err_code?: string;
  readonly err_msg?: string;
  readonly created_at: string;
  readonly updated_at: string;
  /** ISO time it became REFUNDED (finance counts it on that day). */
  readonly refunded_at?: string;
  /** Set once an overdue refund has alarmed, so it alarms once. */
  readonly overdue_noted_at?: string;
  readonly attempts: readonly RefundAttempt[];
}

/** Refunds in these states decide nothing more. */
export function isFinalRefund(status: RefundStatus): boolean {
  return status === 'REFUNDED' || status === 'FAILED' || status === 'ABNORMAL';
}

/** The order's refunds still to be followed, oldest first. */
export function openRefunds(order: Pick<Order, 'refunds'>): readonly Refund[] {
  return (order.refunds ?? []).filter((refund) => !isFinalRefund(refund.status));
}

/** Fen refunded: the refunds that succeeded. */
export function refundedFee(refunds: readonly Refund[] = []): number {
  return refunds.filter((r) => r.status === 'REFUNDED').reduce((sum, r) => sum + r.refund_fee, 0);
}

/** Fen held by refunds that succeeded, are in flight or are abnormal: what may not be refunded again. */
export function reservedFee(refunds: readonly Refund[] = []): number {
  return refunds.filter((r) => r.status !== 'FAILED').reduce((sum, r) => sum + r.refund_fee, 0);
}

/** Most refunds one order may have (SPEC section 8). */
export const maxRefundsPerOrder = 50;
/** No refund after this long from payment. */
export const refundWindowMs = 365 * 24 * 3600 * 1000;

/** `data` of a refund, as the merchant API shows it (SPEC section 8). */
export function toRefundView(order: Order, refund: Refund): Record<string, unknown> {
  const view: Record<string, unknown> = {
    merchant_id: order.merchant_id,
    trade_id: order.trade_id,
    mch_trade_id: order.mch_trade_id,
    refund_id: refund.refund_id,
    out_refund_no: refund.out_refund_no,
    ch_refund_id: refund.ch_refund_id,
    refund_fee: refund.refund_fee,
    total_fee: order.total_fee,
    refunded_fee: refundedFee(order.refunds),
    refund_state: refundStateOf[refund.status],
    need_query: isFinalRefund(refund.status) ? 'N' : 'Y',
    refund_time: refund.refund_time,
    refund_desc: refund.refund_desc,
    err_code: refund.err_code,
    err_msg: refund.err_msg,
  };
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined));
}

/** The order's refunds with `refund` replaced by `changes` applied to it. */
export function withRefund(
  order: Pick<Order, 'refunds'>,
  refundId: string,
  changes: Partial<Refund>,
): Refund[] {
  return (order.refunds ?? []).map((r) => (r.refund_id === refundId ? { ...r, ...changes } : r));
}
