import type { CommonPaymentDetails, PayResult, QueryResult, ReverseResult } from '#core/channels/channel.ts';
import { payErrorClass } from '#core/channels/fshows/protocol.ts';
import { answerSigningContent, type FshowsWire, parseAnswer, rsaVerify } from '#core/channels/fshows/wire.ts';
import { answerVerifier, payErrorResult, stated } from '#core/channels/kit/answers.ts';
import { answerReader, type CallOutcome } from '#core/channels/kit/http.ts';
import { micropayQueryResult } from '#core/channels/kit/micropay.ts';
import { fromUtc8 } from '#core/channels/kit/time.ts';
import { exactDecimal, yuanToFen } from '#core/money.ts';

export type { CallOutcome } from '#core/channels/kit/http.ts';

/**
 * What fshows adds to a paid order (its descriptor's `orderFields`): fees and the net amount in yuan, rates as
 * fractions, each the exact decimal string fshows sent.
 */
export type FshowsPaymentDetails = CommonPaymentDetails & {
  readonly liquidator_commission_fee?: string;
  readonly bank_commission_fee?: string;
  readonly pay_platform_fee?: string;
  readonly gateway_commission_fee?: string;
  readonly net_money?: string;
  readonly liquidator_commission_rate?: string;
  readonly bank_commission_rate?: string;
  readonly pay_platform_rate?: string;
  readonly gateway_commission_rate?: string;
};

/** What an answer must match to be about the request that was sent. */
export interface FshowsExpectation {
  readonly out_trade_no: string;
  /** In fen; fshows writes yuan. */
  readonly total_fee: number;
  /** The platform's public key (PEM), when the account has one: a signed answer must verify with it. */
  readonly platformPublicKey?: string;
  /** Whether the gateway URL is `https://` (the server certificate is always verified). */
  readonly overTls: boolean;
}

/** An answer's shape: `{"success": true, "return_value": {...}}` or `{"success": false, "error_code", "error_message"}`. */
export interface FshowsAnswer {
  readonly wire: FshowsWire;
  readonly success: boolean;
  /** `return_value`'s flat members as text (JSON numbers exactly as written); nested values left out. */
  readonly value?: Readonly<Record<string, string>>;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

const read = answerReader((text) => {
  const wire = parseAnswer(text);
  return wire && shape(wire);
});

function shape(wire: FshowsWire): FshowsAnswer | undefined {
  const { success, return_value: returnValue, error_code: code, error_message: message } = wire.members;
  if (typeof success !== 'boolean') return undefined;
  if (code !== undefined && typeof code !== 'string') return undefined;
  if (message !== undefined && typeof message !== 'string') return undefined;
  let value: Record<string, string> | undefined;
  if (returnValue !== undefined && returnValue !== null) {
    if (typeof returnValue !== 'object' || Array.isArray(returnValue)) return undefined;
    value = {};
    for (const [name, v] of Object.entries(returnValue)) {
      if (typeof v === 'string') value[name] = v;
      else if (typeof v === 'boolean') value[name] = String(v);
    }
  }
  return { wire, success, value, errorCode: code, errorMessage: message };
}

/** The members of fshows' bare failure form; anything beside them needs a signature to count. */
const failureMembers = new Set(['success', 'error_code', 'error_message', 'sign', 'sign_type']);

/**
 * Proves an answer is fshows' and about this order. A signed answer (`sign`) is checked with the platform's
 * public key when the account has one; otherwise the answer rests on verified TLS to the configured host,
 * and a failure counts only as nothing but `success`, `error_code` and `error_message`. Whatever the basis,
 * a success must name our `out_trade_no`, and our amount wherever it states one (`required`: must state it).
 */
const verifyFshows = answerVerifier<FshowsAnswer, FshowsExpectation, 'out_trade_no' | 'total_fee'>({
  authenticity: (a, expected) => {
    const sign = a.wire.members.sign;
    // Checked with the platform's key when there is a sign and the account has the key; else TLS is the basis.
    const key = typeof sign === 'string' && sign !== '' ? expected.platformPublicKey : undefined;
    if (key !== undefined) {
      return rsaVerify(answerSigningContent(a.wire), sign as string, key)
        ? 'signature'
        : { unproven: 'BAD_SIGNATURE' };
    }
    if (!expected.overTls) return { unproven: 'UNSIGNED_WITHOUT_TLS' };
    if (!a.success) {
      const extra = Object.keys(a.wire.members).filter((name) => !failureMembers.has(name));
      if (extra.length > 0) return { unproven: `UNSIGNED_FAIL_WITH:${extra.join(',')}` };
    }
    return 'transport';
  },
  about: (a, expected) => {
    if (!a.success) return undefined;
    const value = a.value ?? {};
    // fshows writes yuan: an amount is ours when it is our fen exactly; one that is no amount of fen is not.
    const amount = value.total_fee;
    const stated = {
      out_trade_no: value.out_trade_no,
      total_fee: amount === undefined ? undefined : String(fen(amount) ?? `not fen: ${amount}`),
    };
    const ours = { out_trade_no: expected.out_trade_no, total_fee: String(expected.total_fee) };
    return { stated, ours, always: ['out_trade_no'] };
  },
});

/** Reads fshows' answer to `fshows.liquidation.wx.trade.pay`. */
export function readPayAnswer(outcome: CallOutcome, expected: FshowsExpectation): PayResult {
  return read(outcome, (a) => {
    if (a.success) {
      const value = a.value;
      if (!value) return { kind: 'unknown', said: 'MALFORMED' };
      const state = value.trade_state;
      if (state !== undefined && state !== 'SUCCESS') return { kind: 'pending', said: state };
      // A payment fshows took names WeChat's order number; without it this is no paid answer.
      if (!value.transaction_id) return { kind: 'unknown', said: 'MALFORMED' };
      const checked = verifyFshows(a, expected, ['total_fee']);
      if (!checked.ok) return { kind: 'unknown', said: checked.reason };
      return { kind: 'paid', details: paymentDetails(value), said: 'SUCCESS', proof: checked.verified };
    }
    const errCode = a.errorCode;
    if (!errCode) return { kind: 'unknown', said: 'MALFORMED' };
    return payErrorResult(errCode, a.errorMessage || errCode, payErrorClass, () => verifyFshows(a, expected));
  });
}

/** Reads fshows' answer to the order query (`return_value.trade_state`). */
export function readQueryAnswer(outcome: CallOutcome, expected: FshowsExpectation): QueryResult {
  return read(outcome, (a) =>
    // Not found (the pay may not have landed yet), busy, errors: the outcome is still open.
    a.success
      ? micropayQueryResult(a.value, (required) => verifyFshows(a, expected, required), paymentDetails)
      : { kind: 'pending', said: a.errorCode || 'FAIL' },
  );
}

/**
 * Reads fshows' answer to `fshows.liquidation.order.reverse`: a verified success about this order is a
 * reverse that happened, unless it says `recall=Y` (call again, as WeChat's reverse does); a failure or
 * silence is not, and the protocol calls again with backoff.
 */
export function readReverseAnswer(outcome: CallOutcome, expected: FshowsExpectation): ReverseResult {
  return read(outcome, (a) => {
    if (!a.success) return { kind: 'unknown', said: a.errorCode || 'FAIL' };
    if (!a.value) return { kind: 'unknown', said: 'MALFORMED' };
    const checked = verifyFshows(a, expected);
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    if (a.value.recall === 'Y') return { kind: 'retry', said: 'recall=Y' };
    return { kind: 'reversed', said: 'SUCCESS', proof: checked.verified };
  });
}

/**
 * Yuan as fshows writes it (a JSON number or string, at most two significant decimals: `0.01`, `8.8`,
 * `8.880`) → fen, exactly; undefined for anything else (more than two significant decimals is no amount of
 * fen).
 */
export function fen(yuan: string | undefined): number | undefined {
  const m = yuan?.match(/^(\d+)(?:\.(\d+))?$/);
  if (!m) return undefined;
  const decimals = (m[2] ?? '').replace(/0+$/, '');
  return yuanToFen(decimals === '' ? (m[1] as string) : `${m[1]}.${decimals}`);
}

/** Fees, rates and net amounts up to fshows' five decimals (seed 003), kept as the exact text sent. */
const decimal = (text: string | undefined) => exactDecimal(text, 8);

const present = (value: string | undefined) => (value === '' ? undefined : value);

/**
 * What a paid answer reports. Amounts become fen (`cash_fee`; `coupon_fee`, which the seed labels fen but
 * writes as yuan, `0.00`, like the other amounts); fees, rates and the net amount stay exact decimal strings
 * for finance. A field that is absent or not a well-formed amount is left out rather than guessed, and never
 * erases what the order holds: the payment itself is proven by the order number and amount.
 */
function paymentDetails(v: Readonly<Record<string, string>>): FshowsPaymentDetails {
  return stated({
    // fshows names no order number of its own here: WeChat's is both the channel's id and the method's.
    out_trade_id: present(v.transaction_id),
    ch_trade_id: present(v.transaction_id),
    fee_type: present(v.fee_type),
    cash_fee: fen(v.cash_fee),
    coupon_fee: fen(v.coupon_fee),
    bank_type: present(v.bank_type),
    openid: present(v.openid),
    sub_openid: present(v.sub_openid),
    is_subscribe: present(v.is_subscribe),
    sub_appid: present(v.sub_appid),
    time_end: fromUtc8(v.time_end, 'compact'),
    liquidator_commission_fee: decimal(v.liquidator_commission_fee),
    bank_commission_fee: decimal(v.bank_commission_fee),
    pay_platform_fee: decimal(v.pay_platform_fee),
    gateway_commission_fee: decimal(v.gatewayCommissionFee),
    net_money: decimal(v.net_money),
    liquidator_commission_rate: decimal(v.liquidator_commission_rate),
    bank_commission_rate: decimal(v.bank_commission_rate),
    pay_platform_rate: decimal(v.pay_platform_rate),
    gateway_commission_rate: decimal(v.gatewayCommissionRate),
  });
}
