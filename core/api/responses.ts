import * as z from 'zod/mini';
import { ApiCode } from '#core/errors.ts';
import { payTypes } from '#core/merchants.ts';

/**
 * The answers of the merchant API as schemas (SPEC section 2): the source of the OpenAPI document's
 * responses, and what the integration tests check every answer against. Not used at run time.
 */

const text = z.string();
const fen = z.int().check(z.minimum(0));
const yuan = z.string().check(z.regex(/^\d+\.\d{2}$/));

/** `data` of an answer about an order: the fields of the merchant documents' responses. */
export const orderView = z.strictObject({
  merchant_id: text,
  pay_type: z.enum(payTypes),
  mch_trade_id: text,
  trade_id: z.string().check(z.regex(/^[0-9a-f]{24}$/)),
  ch_trade_id: z.optional(text),
  out_trade_id: z.optional(text),
  total_fee: fen,
  trade_state: z.int().check(z.minimum(0), z.maximum(7)),
  need_query: z.enum(['Y', 'N']),
  time_end: z.optional(z.int()),
  fee_type: text,
  cash_fee: z.optional(fen),
  coupon_fee: z.optional(fen),
  bank_type: z.optional(text),
  openid: z.optional(text),
  sub_openid: z.optional(text),
  appid: z.optional(text),
  sub_appid: z.optional(text),
  is_subscribe: z.optional(text),
  sub_is_subscribe: z.optional(text),
  attach: z.optional(text),
  device_info: z.optional(text),
  refunded_fee: fen,
  buyer_logon_id: z.optional(text),
  buyer_user_id: z.optional(text),
  buyer_pay_amount: z.optional(yuan),
  invoice_amount: z.optional(yuan),
  point_amount: z.optional(yuan),
  receipt_amount: z.optional(yuan),
  fund_bill_list: z.optional(text),
  err_code: z.optional(text),
  err_msg: z.optional(text),
});

/** `data` of an answer about a refund (SPEC section 8). */
export const refundView = z.strictObject({
  merchant_id: text,
  trade_id: z.string().check(z.regex(/^[0-9a-f]{24}$/)),
  mch_trade_id: text,
  refund_id: z.string().check(z.regex(/^[0-9a-f]{24}$/)),
  out_refund_no: text,
  ch_refund_id: z.optional(text),
  refund_fee: fen,
  total_fee: fen,
  refunded_fee: fen,
  refund_state: z.int().check(z.minimum(0), z.maximum(3)),
  need_query: z.enum(['Y', 'N']),
  refund_time: z.optional(z.int()),
  refund_desc: z.optional(text),
  err_code: z.optional(text),
  err_msg: z.optional(text),
});

/** `data` of `/v1/refund/query` by order: every refund of it, oldest first. */
export const refundList = z.strictObject({
  merchant_id: text,
  trade_id: z.string().check(z.regex(/^[0-9a-f]{24}$/)),
  mch_trade_id: text,
  total_fee: fen,
  refunded_fee: fen,
  refunds: z.array(refundView),
});

const codes = Object.values(ApiCode);

/** Every answer: whether the request was handled (`code`), and for an order its state (`data`). */
export const envelope = z.strictObject({
  code: z.union(
    codes.map((code) => z.literal(code)) as [z.ZodMiniLiteral<number>, ...z.ZodMiniLiteral<number>[]],
  ),
  msg: z.nullable(text),
  data: z.optional(z.union([orderView, refundView, refundList])),
  err_code: z.optional(text),
  err_msg: z.optional(text),
  version: z.literal('1.0'),
  sign_type: z.optional(z.enum(['MD5', 'HMAC-SHA256'])),
  sign: z.optional(z.string().check(z.regex(/^[0-9A-F]{32}$|^[0-9A-F]{64}$/))),
});

export type EnvelopeShape = z.infer<typeof envelope>;
