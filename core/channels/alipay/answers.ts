import type { KeyObject } from 'node:crypto';
import {
  type AnswerClass,
  payCodeClass,
  paySubCodeClass,
  queryStatusClass,
} from '#core/channels/alipay/protocol.ts';
import { maxAnswerBytes, memberSpans, rsa2Verify, type Span } from '#core/channels/alipay/wire.ts';
import {
  type CommonPaymentDetails,
  finalQueryResult,
  type PayResult,
  type QueryResult,
  type ReverseResult,
} from '#core/channels/channel.ts';
import { type AnswerRule, answerVerifier } from '#core/channels/kit/answers.ts';
import type { CallOutcome } from '#core/channels/kit/http.ts';
import { fromUtc8 } from '#core/channels/kit/time.ts';
import { maskAuthCode } from '#core/ids.ts';
import { yuanToFen } from '#core/money.ts';

/** The Alipay methods this channel calls. */
export type AlipayMethod =
  | 'alipay.trade.pay'
  | 'alipay.trade.query'
  | 'alipay.trade.cancel'
  | 'alipay.trade.refund'
  | 'alipay.trade.fastpay.refund.query'
  | 'alipay.data.dataservice.bill.downloadurl.query';

export type { CallOutcome } from '#core/channels/kit/http.ts';

/** What Alipay adds to a paid order (its descriptor's `orderFields`): amounts in integer fen. */
export type AlipayPaymentDetails = CommonPaymentDetails & {
  readonly buyer_logon_id?: string;
  readonly buyer_user_id?: string;
  readonly buyer_pay_amount?: number;
  readonly invoice_amount?: number;
  readonly point_amount?: number;
  readonly receipt_amount?: number;
  /** `fund_bill_list` as Alipay sent it (JSON text: how the buyer paid). */
  readonly fund_bill_list?: string;
};

/** What an answer must match to be about the request that was sent. */
export interface AlipayExpectation {
  /** Alipay's public key for this app: every answer that decides anything is signed with its private half. */
  readonly alipayPublicKey: KeyObject | undefined;
  /** The merchant's `app_id` (kept on the paid order as `appid`, as seed 002 shows it). */
  readonly app_id: string;
  readonly out_trade_no: string;
  readonly total_fee: number;
}

/** A response node: Alipay's fields and the text they were read from. */
export interface AlipayAnswer {
  /** The node's fields as parsed from exactly the bytes that were verified. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The node as sent: what the signature covers. */
  readonly raw: string;
  /** Where each of the node's members sits in `raw`. */
  readonly spans: ReadonlyMap<string, Span>;
  readonly sign: string | undefined;
}

type Read =
  | { readonly kind: 'node'; readonly answer: AlipayAnswer }
  | { readonly kind: 'unknown'; readonly said: string };

/**
 * Reads an Alipay answer: `{"<method>_response": {...}, "sign": "..."}` (or `error_response` when the gateway did
 * not get as far as the method). The node is taken as the exact text Alipay sent, and its fields are parsed from
 * that text, so what the signature covers is what is read.
 */
export function readAnswer(outcome: CallOutcome, method: AlipayMethod): Read {
  if (outcome.kind === 'none') return { kind: 'unknown', said: outcome.said };
  const text = outcome.text;
  if (Buffer.byteLength(text) > maxAnswerBytes) return { kind: 'unknown', said: 'TOO_LARGE' };
  const spans = memberSpans(text);
  if (!spans) return { kind: 'unknown', said: 'MALFORMED' };
  const span = spans.get(`${method.replaceAll('.', '_')}_response`) ?? spans.get('error_response');
  const signSpan = spans.get('sign');
  if (!span) return { kind: 'unknown', said: 'MALFORMED' };
  const raw = text.slice(span.start, span.end);
  // The node must be an object (memberSpans reads nothing else); every field is read from its exact text.
  const nodeSpans = memberSpans(raw);
  if (!nodeSpans) return { kind: 'unknown', said: 'MALFORMED' };
  const fields = JSON.parse(raw) as Record<string, unknown>;
  const sign: unknown = signSpan ? JSON.parse(text.slice(signSpan.start, signSpan.end)) : undefined;
  if (sign !== undefined && typeof sign !== 'string') return { kind: 'unknown', said: 'MALFORMED' };
  return { kind: 'node', answer: { fields, raw, spans: nodeSpans, sign } };
}

/** A field Alipay sends as a string; undefined when absent or not a string. */
function str(fields: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = fields[name];
  return typeof value === 'string' ? value : undefined;
}

/** Whether an answer is Alipay's: its `sign` verifies (RSA2, Alipay's public key) over the node exactly as sent. */
export const alipayAuthenticity: AnswerRule<
  AlipayAnswer,
  { readonly alipayPublicKey: KeyObject | undefined }
>['authenticity'] = (a, expected) => {
  if (a.sign === undefined) return { unproven: 'UNSIGNED' };
  if (!expected.alipayPublicKey) return { unproven: 'NO_ALIPAY_PUBLIC_KEY' };
  return rsa2Verify(a.raw, a.sign, expected.alipayPublicKey) ? 'signature' : { unproven: 'BAD_SIGNATURE' };
};

/**
 * Proves an answer is Alipay's and about this order: its `sign` verifies (RSA2, Alipay's public key) over the
 * node as sent; an `out_trade_no` it names is ours and a `total_amount` it states is our amount to the fen (a
 * yuan string with at most two decimals); `required` names those it must state.
 */
const verifyAlipay = answerVerifier<AlipayAnswer, AlipayExpectation, 'out_trade_no' | 'total_amount'>({
  authenticity: alipayAuthenticity,
  about: (a, expected) => {
    const amount = str(a.fields, 'total_amount');
    const stated = {
      out_trade_no: str(a.fields, 'out_trade_no'),
      total_amount: amount === undefined ? undefined : String(yuanToFen(amount) ?? `not fen: ${amount}`),
    };
    return {
      stated,
      ours: { out_trade_no: expected.out_trade_no, total_amount: String(expected.total_fee) },
    };
  },
});

/**
 * Alipay's message, safe to keep on the order: its refusal of a signature quotes the string it checked, payment
 * code included, so every run of digits as long as a payment code is masked as `auth_code_masked` is.
 */
export function withoutCodes(message: string): string {
  return message.replace(/(?<!\d)\d{16,24}(?!\d)/g, (digits) => maskAuthCode(digits));
}

/** The answer's own words for the record: its `sub_code`, else its `code`. */
function saidOf(fields: Readonly<Record<string, unknown>>, code: string): string {
  return str(fields, 'sub_code') ?? code;
}

/** Reads Alipay's answer to `alipay.trade.pay` (Alipay's bar-code guidance and the error table of the call). */
export function readPayAnswer(outcome: CallOutcome, expected: AlipayExpectation): PayResult {
  const got = readAnswer(outcome, 'alipay.trade.pay');
  if (got.kind !== 'node') return got;
  const { fields } = got.answer;
  const code = str(fields, 'code');
  if (code === undefined) return { kind: 'unknown', said: 'MALFORMED' };
  const codeClass: AnswerClass | undefined = payCodeClass[code];
  const paid = codeClass === 'paid';
  const checked = verifyAlipay(got.answer, expected, paid ? ['out_trade_no', 'total_amount'] : []);
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  const proof = checked.verified;
  const subCode = str(fields, 'sub_code');
  const errCode = subCode ?? code;
  const errMsg = withoutCodes(str(fields, 'sub_msg') ?? str(fields, 'msg') ?? code);
  switch (codeClass) {
    case 'paid':
      return { kind: 'paid', details: paymentDetails(got.answer, expected), said: code, proof };
    case 'refused':
      return { kind: 'refused', errCode, errMsg, said: errCode, proof };
    case 'by_sub_code':
      if (subCode !== undefined && paySubCodeClass[subCode] === 'refused') {
        return { kind: 'refused', errCode: subCode, errMsg, said: subCode, proof };
      }
      return { kind: 'pending', errCode, errMsg, said: errCode };
    default:
      return { kind: 'pending', errCode, errMsg, said: errCode };
  }
}

/** Reads Alipay's answer to `alipay.trade.query`; only a verified answer about this order decides anything. */
export function readQueryAnswer(outcome: CallOutcome, expected: AlipayExpectation): QueryResult {
  const got = readAnswer(outcome, 'alipay.trade.query');
  if (got.kind !== 'node') return got;
  const { fields } = got.answer;
  const code = str(fields, 'code');
  if (code === undefined) return { kind: 'unknown', said: 'MALFORMED' };
  const status = code === '10000' ? (str(fields, 'trade_status') ?? 'NO_STATUS') : undefined;
  const statusClass = status === undefined ? undefined : queryStatusClass[status];
  const required = {
    paid: ['out_trade_no', 'total_amount'] as const,
    failed: ['out_trade_no'] as const,
    pending: [],
  }[statusClass ?? 'pending'];
  const checked = verifyAlipay(got.answer, expected, required);
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  const said = status ?? saidOf(fields, code);
  if (statusClass === undefined || statusClass === 'pending') return { kind: 'pending', said };
  const answer = {
    details: () => paymentDetails(got.answer, expected),
    description: 'Alipay closed the trade: never paid, or refunded in full',
  };
  return finalQueryResult(statusClass, said, answer, checked.verified);
}

/**
 * Reads Alipay's answer to `alipay.trade.cancel`. `retry_flag=Y` means cancel again, whatever `code` says; only a
 * verified `10000` about this order without it is a cancel that happened, and it says what Alipay did (`action`:
 * `close` an unpaid trade, `refund` a paid one).
 */
export function readCancelAnswer(outcome: CallOutcome, expected: AlipayExpectation): ReverseResult {
  const got = readAnswer(outcome, 'alipay.trade.cancel');
  if (got.kind !== 'node') return got;
  const { fields } = got.answer;
  const code = str(fields, 'code');
  if (code === undefined) return { kind: 'unknown', said: 'MALFORMED' };
  const retry = str(fields, 'retry_flag') === 'Y';
  const checked = verifyAlipay(got.answer, expected, code === '10000' ? ['out_trade_no'] : []);
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  const said = `${saidOf(fields, code)} retry_flag=${retry ? 'Y' : 'N'}`;
  if (retry) return { kind: 'retry', said };
  if (code !== '10000') return { kind: 'unknown', said };
  const action = str(fields, 'action');
  return {
    kind: 'reversed',
    said: action ? `10000 action=${action}` : '10000',
    ...(action ? { action } : {}),
    proof: checked.verified,
  };
}

/** Yuan as Alipay writes it → fen; undefined when absent or not an exact amount. */
function fen(fields: Readonly<Record<string, unknown>>, name: string): number | undefined {
  return yuanToFen(str(fields, name));
}

/**
 * `fund_bill_list` (how the buyer paid) as Alipay sent it: the array's JSON text exactly as written, or the string
 * when Alipay sends it as one; and the first fund's `fund_type` (seed 002 shows it as `bank_type`).
 */
function fundBills(answer: AlipayAnswer): { text?: string; firstType?: string } {
  const value = answer.fields.fund_bill_list;
  if (typeof value === 'string') return { text: value };
  if (!Array.isArray(value)) return {};
  const span = answer.spans.get('fund_bill_list') as Span;
  const first: unknown = value[0];
  const type =
    first !== null && typeof first === 'object' ? (first as Record<string, unknown>).fund_type : undefined;
  return {
    text: answer.raw.slice(span.start, span.end),
    firstType: typeof type === 'string' ? type : undefined,
  };
}

/** What seed 002 shows for a paid Alipay order, from a verified pay or query answer. */
function paymentDetails(answer: AlipayAnswer, expected: AlipayExpectation): AlipayPaymentDetails {
  const { fields } = answer;
  const tradeNo = str(fields, 'trade_no');
  const buyer = str(fields, 'buyer_user_id') ?? str(fields, 'buyer_open_id');
  const bills = fundBills(answer);
  return {
    // Alipay is both the channel and the payment method: its trade number is both ids.
    out_trade_id: tradeNo,
    ch_trade_id: tradeNo,
    appid: expected.app_id,
    openid: buyer,
    bank_type: bills.firstType,
    buyer_logon_id: str(fields, 'buyer_logon_id'),
    buyer_user_id: buyer,
    buyer_pay_amount: fen(fields, 'buyer_pay_amount'),
    invoice_amount: fen(fields, 'invoice_amount'),
    point_amount: fen(fields, 'point_amount'),
    receipt_amount: fen(fields, 'receipt_amount'),
    fund_bill_list: bills.text,
    // The pay answer says when the buyer paid (gmt_payment); a query says when the money went out (send_pay_date).
    time_end: fromUtc8(str(fields, 'gmt_payment') ?? str(fields, 'send_pay_date'), 'dashed'),
  };
}
