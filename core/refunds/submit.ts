import type { ChannelContext, RefundCommand, RefundResult } from '#core/channels/channel.ts';
import { ApiCode, ApiError } from '#core/errors.ts';
import { newRefundId } from '#core/ids.ts';
import type { Merchant } from '#core/merchants.ts';
import type { Order } from '#core/orders/order.ts';
import { findOrder, type OrderLookup } from '#core/payments/orders.ts';
import type { Ports, RefundBinding } from '#core/ports.ts';
import {
  isFinalRefund,
  maxRefundsPerOrder,
  openRefunds,
  type Refund,
  type RefundAttempt,
  refundedFee,
  refundWindowMs,
  reservedFee,
} from '#core/refunds/refund.ts';
import { callLeaseEnd, writeAndClaim, writeAndHandOver } from '#core/settlement/lease.ts';
import { iso, scaled } from '#core/time.ts';

/** `/v1/refund` as the domain reads it (SPEC section 8). */
export interface RefundRequest extends OrderLookup {
  readonly out_refund_no: string;
  readonly refund_fee: number;
  readonly refund_desc?: string;
  readonly op_user_id?: string;
}

export interface RefundOutcome {
  readonly order: Order;
  readonly refund: Refund;
  /** 0, or 600 (refused) / 601 (no answer in time) for the call this request made. */
  readonly code: 0 | 600 | 601;
}

/**
 * Refunds all or part of a paid order, once per `merchant_id` + `out_refund_no`: binds the number, reserves
 * the amount in the order's own conditional write, and when no settlement owns the order, claims it, makes the
 * first refund call and hands anything not final to settlement. Otherwise the owner sends it, one at a time.
 */
export async function submitRefund(
  ports: Ports,
  merchant: Merchant,
  request: RefundRequest,
): Promise<RefundOutcome> {
  const order = await findOrder(ports, request);
  const channel = ports.channels.get(order.channel);
  const refunds = channel?.refunds;
  if (!channel || !refunds) {
    throw new ApiError(
      ApiCode.payTypeNotEnabled,
      `pay_type: this order's channel documents no refund; refund it with the channel`,
    );
  }
  const now = ports.clock.now();
  const proposed = {
    merchant_id: order.merchant_id,
    out_refund_no: request.out_refund_no,
    refund_id: newRefundId(now, order.merchant_id, request.out_refund_no),
    mch_trade_id: order.mch_trade_id,
    trade_id: order.trade_id,
    refund_fee: request.refund_fee,
  };
  // A new number is checked against the rules before it is bound, so a refusal writes nothing.
  const known = await ports.orders.findRefundBinding(order.merchant_id, {
    out_refund_no: request.out_refund_no,
  });
  if (known) checkSameRefund(known, proposed);
  else checkRefundable(order, request.refund_fee, now);
  const binding = known ?? (await ports.orders.bindRefundNumber(proposed));
  checkSameRefund(binding, proposed);
  const refundId = binding.refund_id;
  const leaseUntil = callLeaseEnd(ports, refunds.protocol, now);
  const mine = binding.refund_id === proposed.refund_id && !known;
  const { order: claimed, claimed: ours } = await writeAndClaim(ports, order, {
    change: (latest) => {
      if (latest.refunds?.some((r) => r.refund_id === refundId)) return undefined;
      checkRefundable(latest, request.refund_fee, now);
      const refund: Refund = {
        refund_id: refundId,
        out_refund_no: request.out_refund_no,
        refund_fee: request.refund_fee,
        refund_desc: request.refund_desc,
        op_user_id: request.op_user_id,
        status: 'CREATED',
        created_at: iso(now),
        updated_at: iso(now),
        attempts: [],
      };
      return { refunds: [...(latest.refunds ?? []), stated(refund)] };
    },
    leaseUntil,
  }).catch(async (error: unknown) => {
    // Refused after all (a concurrent refund took what was left): the number goes back, nothing stays written.
    if (error instanceof ApiError && mine) await ports.orders.unbindRefundNumber(binding);
    throw error;
  });
  const refund = refundOf(claimed, refundId);
  // A replay, or a refund queued behind the one the order's settlement is sending: its state as it stands.
  if (!ours || refund.status !== 'CREATED' || openRefunds(claimed)[0]?.refund_id !== refundId) {
    return { order: claimed, refund, code: refund.status === 'FAILED' && refund.err_code ? 600 : 0 };
  }

  const result = await refunds
    .refund(
      await contextOf(merchant, claimed),
      refundCommand(claimed, refund),
      scaled(refunds.protocol.callDeadlineMs, ports.deadlineScale),
    )
    .catch((): RefundResult => ({ kind: 'unknown', said: 'ERROR' }));
  const answeredAt = ports.clock.now();
  ports.telemetry.refundAnswered(channel.name, result.kind);
  const firstStep = answeredAt + scaled(refunds.protocol.queryDelaysMs[0], ports.timeScale);
  const { order: saved } = await writeAndHandOver(ports, claimed, {
    change: (latest) => refundChanges(latest, refundId, 'refund', result, answeredAt),
    leaseUntil: callLeaseEnd(ports, refunds.protocol, firstStep),
    heldToken: claimed.settle_seq,
  });
  const after = refundOf(saved, refundId);
  if (isFinalRefund(after.status)) ports.telemetry.refundSettled(saved, after);
  const code = after.status === 'FAILED' ? 600 : after.status === 'CREATED' ? 601 : 0;
  return { order: saved, refund: after, code };
}

/** The refunds this request asks about: one by its number or id, or every refund of an order. */
export async function findRefunds(
  ports: Ports,
  request: OrderLookup & { readonly refund_id?: string; readonly out_refund_no?: string },
): Promise<{ readonly order: Order; readonly refunds: readonly Refund[]; readonly one: boolean }> {
  const by =
    request.refund_id !== undefined
      ? { refund_id: request.refund_id }
      : request.out_refund_no !== undefined
        ? { out_refund_no: request.out_refund_no }
        : undefined;
  if (!by) {
    const order = await findOrder(ports, request);
    return { order, refunds: order.refunds ?? [], one: false };
  }
  const binding = await ports.orders.findRefundBinding(request.merchant_id, by);
  const order = binding && (await ports.orders.findByTradeId(binding.merchant_id, binding.trade_id));
  const refund = order?.refunds?.find((r) => r.refund_id === binding?.refund_id);
  if (!order || !refund) throw new ApiError(ApiCode.orderNotFound, 'refund does not exist');
  return { order, refunds: [refund], one: true };
}

/** The same number again must name the same order and amount (102 otherwise). */
function checkSameRefund(binding: RefundBinding, proposed: RefundBinding): void {
  if (binding.trade_id !== proposed.trade_id || binding.refund_fee !== proposed.refund_fee) {
    throw new ApiError(
      ApiCode.duplicateMismatch,
      'out_refund_no: already used for another order or amount; use another out_refund_no',
    );
  }
}

/** SPEC section 8's rules for a new refund of `order`, each refused with its code and nothing written. */
function checkRefundable(order: Order, refundFee: number, now: number): void {
  if (order.state !== 'PAID') {
    throw new ApiError(ApiCode.orderStateConflict, 'order is not paid; only a paid order can be refunded');
  }
  const refunds = order.refunds ?? [];
  if (refunds.length >= maxRefundsPerOrder) {
    throw new ApiError(
      ApiCode.refundNotAllowed,
      `order already has ${maxRefundsPerOrder} refunds, the most allowed`,
    );
  }
  const paidAt = Date.parse(order.paid_at ?? order.created_at);
  if (now - paidAt > refundWindowMs) {
    throw new ApiError(
      ApiCode.refundNotAllowed,
      'order was paid more than 365 days ago; it can no longer be refunded',
    );
  }
  const left = order.total_fee - reservedFee(refunds);
  if (refundFee > left) {
    throw new ApiError(
      ApiCode.refundNotAllowed,
      `refund_fee: exceeds what is left to refund (${left} fen, of ${order.total_fee} paid)`,
    );
  }
}

/**
 * The changes one refund call or query makes to the order: the refund's status and the attempt, and with a
 * refund that succeeded, `trade_state` 1 (refund). Only verified answers move the status; a refund not yet
 * accepted stays CREATED and is sent again under the same number.
 */
export function refundChanges(
  order: Order,
  refundId: string,
  action: RefundAttempt['action'],
  result: RefundResult,
  now: number,
): Partial<Order> | undefined {
  const refund = order.refunds?.find((r) => r.refund_id === refundId);
  // Final already (another writer recorded it): an answer after that changes nothing.
  if (!refund || isFinalRefund(refund.status)) return undefined;
  const attempt: RefundAttempt = { at: iso(now), action, result: result.said };
  const changes = ((): Partial<Refund> => {
    switch (result.kind) {
      case 'refunded':
        return {
          status: 'REFUNDED',
          ch_refund_id: result.ch_refund_id ?? refund.ch_refund_id,
          refund_time: result.refund_time ?? Math.floor(now / 1000),
          refunded_at: iso(now),
        };
      case 'failed':
        return { status: 'FAILED', err_code: result.errCode, err_msg: result.errMsg };
      case 'abnormal':
        return { status: 'ABNORMAL', ch_refund_id: result.ch_refund_id ?? refund.ch_refund_id };
      case 'processing':
        return { status: 'PROCESSING', ch_refund_id: result.ch_refund_id ?? refund.ch_refund_id };
      case 'absent':
        return { status: 'CREATED' };
      default:
        return {};
    }
  })();
  const updated = stated({
    ...refund,
    ...changes,
    updated_at: iso(now),
    attempts: [...refund.attempts, attempt],
  });
  const refunds = (order.refunds ?? []).map((r) => (r.refund_id === refundId ? updated : r));
  return { refunds, ...(refundedFee(refunds) > 0 && order.trade_state === 0 ? { trade_state: 1 } : {}) };
}

export function refundCommand(order: Order, refund: Refund): RefundCommand {
  return {
    out_trade_no: order.trade_id,
    total_fee: order.total_fee,
    out_refund_no: refund.refund_id,
    refund_fee: refund.refund_fee,
    refund_desc: refund.refund_desc,
  };
}

export async function refundContext(ports: Ports, order: Order): Promise<ChannelContext> {
  const merchant = await ports.merchants.get(order.merchant_id);
  if (!merchant) throw new Error(`merchant ${order.merchant_id} not found`);
  return contextOf(merchant, order);
}

function contextOf(merchant: Merchant, order: Order): ChannelContext {
  const route = merchant.pay_types[order.pay_type as keyof typeof merchant.pay_types];
  if (!route) throw new Error(`merchant ${order.merchant_id} has no route for ${order.pay_type}`);
  return { account: route.account, credentials: merchant.secret.channels[order.channel] ?? {} };
}

function refundOf(order: Order, refundId: string): Refund {
  const refund = order.refunds?.find((r) => r.refund_id === refundId);
  if (!refund) throw new Error(`refund ${refundId} is not on order ${order.trade_id}`);
  return refund;
}

/** `fields` without undefined members (DynamoDB stores no undefined inside a list). */
function stated<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}
