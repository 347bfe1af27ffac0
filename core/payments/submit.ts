import { createHash } from 'node:crypto';
import type { Channel, PayResult } from '#core/channels/channel.ts';
import { ApiCode, ApiError } from '#core/errors.ts';
import { maskAuthCode, newTradeId, nonce } from '#core/ids.ts';
import type { Merchant, PayType } from '#core/merchants.ts';
import { toState } from '#core/orders/changes.ts';
import type { Order } from '#core/orders/order.ts';
import type { Ports } from '#core/ports.ts';
import { callLeaseEnd, payLeaseEnd, writeAndHandOver } from '#core/settlement/lease.ts';
import { iso, scaled } from '#core/time.ts';

/** A payment as the merchant asked for it: the order's own fields, the payment code and how it was shown. */
export type PaymentRequest = Pick<
  Order,
  | 'merchant_id'
  | 'mch_trade_id'
  | 'total_fee'
  | 'fee_type'
  | 'body'
  | 'subject'
  | 'attach'
  | 'device_info'
  | 'store_id'
  | 'op_user_id'
  | 'op_device_id'
  | 'goods_tag'
  | 'time_start'
  | 'time_expire'
> & {
  readonly pay_type: PayType;
  readonly auth_code: string;
  readonly spbill_create_ip: string;
  readonly scene?: 'bar_code' | 'wave_code';
  readonly settle_type?: 0 | 1;
};

/** The parameters that define a payment: the same id with any of these different is a conflict (102). */
const businessFields = [
  'pay_type',
  'total_fee',
  'fee_type',
  'auth_code',
  'body',
  'subject',
  'attach',
  'goods_tag',
  'device_info',
  'store_id',
  'op_user_id',
  'op_device_id',
  'time_expire',
  'scene',
  'settle_type',
] as const;

/**
 * SHA-256 of the business parameters. It includes the payment code, which is one-time and expires within
 * minutes, so a digest is safe to keep where the code itself is not.
 */
export function fingerprint(request: PaymentRequest): string {
  const canonical = businessFields.map((field) => [field, request[field] ?? null]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

export interface SubmitOutcome {
  readonly order: Order;
  /** 0, or 600 (refused) / 601 (no answer in time) for the call that reached the channel. */
  readonly code: 0 | 600 | 601;
}

/**
 * Submits a barcode payment once per `merchant_id` + `mch_trade_id`: records the order, calls the
 * channel, records the answer, and hands anything not final to settlement.
 */
export async function submitPayment(
  ports: Ports,
  merchant: Merchant,
  request: PaymentRequest,
): Promise<SubmitOutcome> {
  const route = merchant.pay_types[request.pay_type];
  const channel = route && ports.channels.get(route.channel);
  if (!route || !channel) {
    throw new ApiError(
      ApiCode.payTypeNotEnabled,
      `pay_type: merchant is not enabled for ${request.pay_type}`,
    );
  }
  const currency = route.account.currency ?? 'CNY';
  if (request.fee_type !== undefined && request.fee_type !== currency) {
    throw new ApiError(
      ApiCode.invalidParameter,
      `fee_type: this merchant's ${request.pay_type} is settled in ${currency}; send ${currency} or leave fee_type out`,
    );
  }
  const now = ports.clock.now();
  const draft = newOrder(ports, channel, { ...request, fee_type: currency }, now);
  const created = await ports.orders.create(draft);
  // A write retried after its answer was lost finds the order it wrote itself: that is still this submit's.
  if (!created.created && created.existing.create_token !== draft.create_token) {
    const replayed = replay(created.existing, draft);
    ports.telemetry.paymentAnswered(channel.name, 'replayed');
    return replayed;
  }

  const context = { account: route.account, credentials: merchant.secret.channels[route.channel] ?? {} };
  const command = {
    out_trade_no: draft.trade_id,
    total_fee: request.total_fee,
    auth_code: request.auth_code,
    body: request.body,
    spbill_create_ip: request.spbill_create_ip,
    subject: request.subject,
    attach: request.attach,
    device_info: request.device_info,
    store_id: request.store_id,
    op_user_id: request.op_user_id,
    op_device_id: request.op_device_id,
    scene: request.scene,
    goods_tag: request.goods_tag,
    fee_type: draft.fee_type,
    time_start: request.time_start,
    time_expire: request.time_expire,
  };
  const sentAt = ports.clock.now();
  const result: PayResult = await channel
    .pay(context, command, scaled(channel.protocol.payDeadlineMs, ports.deadlineScale))
    .catch((): PayResult => ({ kind: 'unknown', said: 'ERROR' }));
  const outcome = await recordPayAnswer(ports, channel, draft, result, sentAt);
  ports.telemetry.paymentAnswered(
    channel.name,
    outcome.code === 600 ? 'refused' : outcome.order.state === 'PAID' ? 'paid' : 'settling',
  );
  return outcome;
}

function newOrder(ports: Ports, channel: Channel, request: PaymentRequest, now: number): Order {
  return {
    merchant_id: request.merchant_id,
    mch_trade_id: request.mch_trade_id,
    trade_id: newTradeId(now, request.merchant_id, request.mch_trade_id),
    ch_trade_id: undefined,
    pay_type: request.pay_type,
    channel: channel.name,
    total_fee: request.total_fee,
    fee_type: request.fee_type,
    ...toState('CREATED'),
    body: request.body,
    subject: request.subject,
    attach: request.attach,
    device_info: request.device_info,
    store_id: request.store_id,
    op_user_id: request.op_user_id,
    op_device_id: request.op_device_id,
    goods_tag: request.goods_tag,
    spbill_create_ip: request.spbill_create_ip,
    time_start: request.time_start,
    time_expire: request.time_expire,
    auth_code_masked: maskAuthCode(request.auth_code),
    request_fingerprint: fingerprint(request),
    create_token: nonce().slice(0, 16),
    created_at: iso(now),
    updated_at: iso(now),
    settlement: [],
    // Until the channel answers, the order's lease covers the pay call; if this process dies, a sweep settles it.
    settle_due_at: iso(payLeaseEnd(ports, channel.protocol, now)),
    settle_seq: 0,
    version: 1,
  };
}

function replay(existing: Order, draft: Order): SubmitOutcome {
  if (existing.mch_trade_id !== draft.mch_trade_id) {
    // Another mch_trade_id of this merchant hashes to the same order id (odds in core/ids.ts).
    throw new ApiError(
      ApiCode.duplicateMismatch,
      'mch_trade_id: its order id collides with another order of this merchant; use another mch_trade_id',
    );
  }
  if (existing.request_fingerprint !== draft.request_fingerprint) {
    throw new ApiError(
      ApiCode.duplicateMismatch,
      'mch_trade_id: already used with different parameters (amount, auth_code, pay_type, …)',
    );
  }
  return { order: existing, code: existing.state === 'FAILED' && existing.err_code ? 600 : 0 };
}

/**
 * Records the pay answer and, when the order is not final, makes sure a settlement owns it: this submit
 * claims it unless another writer has a live claim (a merchant's reverse during the pay call only marks the
 * order REVERSING and leaves starting settlement to this submit). The answer reports the order as written.
 */
async function recordPayAnswer(
  ports: Ports,
  channel: Channel,
  order: Order,
  result: PayResult,
  sentAt: number,
): Promise<SubmitOutcome> {
  const now = ports.clock.now();
  const attempt = { at: iso(now), action: 'pay' as const, result: result.said };
  const firstQuery = now + scaled(channel.protocol.firstQueryDelayMs, ports.timeScale);
  // Token 0 is the submit's own lease over its pay call: it hands the order to a settlement unless another
  // writer (a merchant's reverse after the lease ran out) claimed it meanwhile.
  const { order: saved } = await writeAndHandOver(ports, order, {
    change: () => ({ ...payChanges(result, now), pay_sent_at: iso(sentAt) }),
    leaseUntil: callLeaseEnd(ports, channel.protocol, firstQuery),
    heldToken: 0,
    attempts: [attempt],
  });
  const code =
    result.kind === 'refused' && saved.state === 'FAILED'
      ? 600
      : result.kind === 'unknown' && saved.state === 'PAYING'
        ? 601
        : 0;
  return { order: saved, code };
}

function payChanges(result: PayResult, now: number): Partial<Order> {
  switch (result.kind) {
    case 'paid':
      return { ...toState('PAID'), ...result.details, paid_at: iso(now) };
    case 'refused':
      return { ...toState('FAILED'), err_code: result.errCode, err_msg: result.errMsg };
    default:
      return toState('PAYING');
  }
}
