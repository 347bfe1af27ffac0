import { createHash } from 'node:crypto';
import type { MicropayRequest } from '#core/api/requests.ts';
import type { Channel, PayResult } from '#core/channels/channel.ts';
import { ApiCode, GatewayError } from '#core/errors.ts';
import { maskAuthCode, newTradeId } from '#core/ids.ts';
import type { Merchant } from '#core/merchants.ts';
import { applyChange, toState } from '#core/orders/changes.ts';
import { isSettled, type Order } from '#core/orders/order.ts';
import { ensureSettlement } from '#core/payments/settlement-start.ts';
import type { Ports } from '#core/ports.ts';
import { iso, scaled } from '#core/time.ts';

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
export function fingerprint(request: MicropayRequest): string {
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
  request: MicropayRequest,
): Promise<SubmitOutcome> {
  const route = merchant.pay_types[request.pay_type];
  const channel = route && ports.channels.get(route.channel);
  if (!route || !channel) {
    throw new GatewayError(
      ApiCode.payTypeNotEnabled,
      `pay_type: merchant is not enabled for ${request.pay_type}`,
    );
  }
  const now = ports.clock.now();
  const draft = newOrder(ports, channel, request, now);
  const created = await ports.orders.create(draft);
  if (!created.created) return replay(created.existing, draft);

  const context = { account: route.account, credentials: merchant.secret.channels[route.channel] ?? {} };
  const command = {
    out_trade_no: draft.trade_id,
    total_fee: request.total_fee,
    auth_code: request.auth_code,
    body: request.body,
    spbill_create_ip: request.spbill_create_ip,
    attach: request.attach,
    device_info: request.device_info,
    goods_tag: request.goods_tag,
    fee_type: request.fee_type,
    time_start: request.time_start,
    time_expire: request.time_expire,
  };
  const result: PayResult = await channel
    .pay(context, command, scaled(channel.protocol.payDeadlineMs, ports.timeScale))
    .catch((): PayResult => ({ kind: 'unknown', word: 'ERROR' }));
  return recordPayAnswer(ports, channel, draft, result);
}

function newOrder(ports: Ports, channel: Channel, request: MicropayRequest, now: number): Order {
  // Until the channel answers, the order's lease covers the pay call; if this process dies, a sweep settles it.
  const leaseMs = scaled(channel.protocol.payDeadlineMs, ports.timeScale) + ports.leaseGraceMs;
  return {
    merchant_id: request.merchant_id,
    mch_trade_id: request.mch_trade_id,
    trade_id: newTradeId(now),
    ch_trade_id: undefined,
    pay_type: request.pay_type,
    channel: channel.name,
    total_fee: request.total_fee,
    fee_type: request.fee_type ?? 'CNY',
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
    created_at: iso(now),
    updated_at: iso(now),
    settlement: [],
    settle_due_at: iso(now + leaseMs),
    version: 1,
  };
}

function replay(existing: Order, draft: Order): SubmitOutcome {
  if (existing.request_fingerprint !== draft.request_fingerprint) {
    throw new GatewayError(
      ApiCode.duplicateMismatch,
      'mch_trade_id: already used with different parameters (amount, auth_code, pay_type, …)',
    );
  }
  return { order: existing, code: existing.state === 'FAILED' && existing.err_code ? 600 : 0 };
}

async function recordPayAnswer(
  ports: Ports,
  channel: Channel,
  order: Order,
  result: PayResult,
): Promise<SubmitOutcome> {
  const now = ports.clock.now();
  const attempt = { at: iso(now), action: 'pay' as const, result: result.word };
  let changes: Partial<Order>;
  switch (result.kind) {
    case 'paid':
      changes = { ...toState('PAID'), ...result.details, paid_at: iso(now), settle_due_at: undefined };
      break;
    case 'refused':
      changes = {
        ...toState('FAILED'),
        err_code: result.errCode,
        err_msg: result.errMsg,
        settle_due_at: undefined,
      };
      break;
    default: {
      const firstQuery = now + scaled(channel.protocol.firstQueryDelayMs, ports.timeScale);
      changes = { ...toState('PAYING'), settle_due_at: iso(firstQuery + ports.leaseGraceMs) };
    }
  }
  const saved = await applyChange(ports.orders, order, () => changes, attempt);
  if (!isSettled(saved.state)) await ensureSettlement(ports, saved);
  const code =
    result.kind === 'refused' ? 600 : result.kind === 'unknown' && !isSettled(saved.state) ? 601 : 0;
  return { order: saved, code };
}
