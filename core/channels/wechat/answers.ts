import type { CommonPaymentDetails, PayResult, QueryResult, ReverseResult } from '#core/channels/channel.ts';
import { answerVerifier, digitsToInt, payErrorResult, queryResultOf } from '#core/channels/kit/answers.ts';
import { answerReader, type CallOutcome } from '#core/channels/kit/http.ts';
import { fromUtc8 } from '#core/channels/kit/time.ts';
import type { Verified } from '#core/channels/verified.ts';
import { payErrorClass, queryStateClass } from '#core/channels/wechat/protocol.ts';
import { fromXml, type WireFields } from '#core/channels/wechat/wire.ts';
import { parseSignType, type SignType, verify } from '#core/signing.ts';

export type { CallOutcome } from '#core/channels/kit/http.ts';

/** What an answer must match to be about the request that was sent. */
export interface WechatExpectation {
  /** The merchant's WeChat API key, which signs both ways. */
  readonly key: string;
  /** How the request was signed; WeChat signs its answer the same way unless the answer says otherwise. */
  readonly signType: SignType;
  readonly appid: string;
  readonly mch_id: string;
  readonly sub_mch_id?: string;
  readonly out_trade_no: string;
  readonly total_fee: number;
}

const read = answerReader(fromXml);

/**
 * Proves an answer is WeChat's and about this order. A `return_code=SUCCESS` answer must carry a `sign` that
 * verifies with the merchant key (per its `sign_type`), the merchant's `appid` and `mch_id` (and `sub_mch_id`
 * in service-provider mode); our `out_trade_no` and amount wherever it states them, and stated at all where
 * `required` names them (a paid answer states both). WeChat never signs a `return_code=FAIL` answer,
 * which carries only `return_code` and `return_msg`: it rests on TLS to the configured host, and decides only
 * that a request was not accepted.
 */
const verifyWechat = answerVerifier<WireFields, WechatExpectation, 'out_trade_no' | 'total_fee'>({
  authenticity: wechatAuthenticity,
  about: (f, expected) => wechatAbout(f, expected, {}),
});

/** Whether a WeChat answer is WeChat's: signed with the merchant key, or the bare unsigned FAIL form. */
export function wechatAuthenticity(
  f: WireFields,
  expected: WechatExpectation,
): Verified<WireFields>['basis'] | { readonly unproven: string } {
  if (f.return_code === 'FAIL' && f.sign === undefined) {
    const extra = Object.keys(f).filter((name) => name !== 'return_code' && name !== 'return_msg');
    return extra.length === 0 ? 'transport' : { unproven: `UNSIGNED_FAIL_WITH:${extra.join(',')}` };
  }
  if (f.sign === undefined) return { unproven: 'UNSIGNED' };
  const signType = f.sign_type === undefined ? expected.signType : parseSignType(f.sign_type);
  if (!signType) return { unproven: 'BAD_SIGN_TYPE' };
  return verify(f, expected.key, signType) ? 'signature' : { unproven: 'BAD_SIGNATURE' };
}

/**
 * What a signed answer states against ours: the merchant's ids always, the order's number and amount (and `more`,
 * a refund's) wherever stated. The bare FAIL form names nobody: TLS to WeChat's host is all it rests on.
 */
export function wechatAbout(
  f: WireFields,
  expected: WechatExpectation,
  more: Readonly<Record<string, string>>,
) {
  if (f.sign === undefined) return undefined;
  const ours = {
    appid: expected.appid,
    mch_id: expected.mch_id,
    sub_mch_id: expected.sub_mch_id,
    out_trade_no: expected.out_trade_no,
    total_fee: String(expected.total_fee),
    ...more,
  };
  const merchant = ['appid', 'mch_id', ...(expected.sub_mch_id === undefined ? [] : ['sub_mch_id'])];
  return { stated: f, ours, always: merchant };
}

/** Reads WeChat's answer to `/pay/micropay` (seed 004: 支付结果判断 and the err_code table). */
export function readPayAnswer(outcome: CallOutcome, expected: WechatExpectation): PayResult {
  return read(outcome, (f) => {
    if (f.return_code === 'FAIL') {
      // Communication-level refusal: WeChat did not accept the request, so no payment exists.
      const checked = verifyWechat(f, expected, []);
      if (!checked.ok) return { kind: 'unknown', said: checked.reason };
      const errMsg = f.return_msg ?? 'rejected';
      return { kind: 'refused', errCode: 'CHANNEL_REJECTED', errMsg, said: 'FAIL', proof: checked.verified };
    }
    if (f.return_code !== 'SUCCESS') return { kind: 'unknown', said: 'MALFORMED' };
    const paid = f.result_code === 'SUCCESS';
    const checked = verifyWechat(f, expected, paid ? ['out_trade_no', 'total_fee'] : []);
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    if (paid) return { kind: 'paid', details: paymentDetails(f), said: 'SUCCESS', proof: checked.verified };
    if (f.result_code !== 'FAIL' || !f.err_code) return { kind: 'unknown', said: 'MALFORMED' };
    // Proven above, as every signed answer must be, pending or not.
    return payErrorResult(f.err_code, f.err_code_des ?? f.err_code, payErrorClass, () => checked);
  });
}

/** Reads WeChat's answer to `/pay/orderquery`; only a verified answer about this order decides anything. */
export function readQueryAnswer(outcome: CallOutcome, expected: WechatExpectation): QueryResult {
  return read(outcome, (f) => {
    if (f.return_code !== 'SUCCESS') return { kind: 'unknown', said: `FAIL:${f.return_msg ?? ''}` };
    // WeChat reports the order's state only when result_code is SUCCESS (ORDERNOTEXIST, SYSTEMERROR: ask again).
    if (f.result_code !== 'SUCCESS') return { kind: 'pending', said: f.err_code ?? 'FAIL' };
    const state = f.trade_state ?? 'UNKNOWN';
    // Only a SUCCESS answer carries the payment's fields; for any other state WeChat returns out_trade_no, attach
    // and the state (orderquery's 返回结果), so a stated amount must be ours and an absent one is no mismatch.
    const required =
      state === 'SUCCESS' ? (['out_trade_no', 'total_fee'] as const) : (['out_trade_no'] as const);
    return queryResultOf(state, queryStateClass, () => verifyWechat(f, expected, required), {
      details: () => paymentDetails(f),
      description: f.trade_state_desc ?? state,
    });
  });
}

/**
 * Reads WeChat's answer to `/secapi/pay/reverse`. `recall=Y` means call reverse again, whatever
 * `result_code` says; only a verified `result_code=SUCCESS` with `recall=N` is a reverse that happened.
 */
export function readReverseAnswer(outcome: CallOutcome, expected: WechatExpectation): ReverseResult {
  return read(outcome, (f) => {
    const recall = f.recall === 'Y' ? 'recall=Y' : 'recall=N';
    const said = `${f.result_code === 'SUCCESS' ? 'SUCCESS' : (f.err_code ?? f.return_msg ?? 'FAIL')} ${recall}`;
    if (f.return_code !== 'SUCCESS') return { kind: 'unknown', said: `FAIL:${f.return_msg ?? ''}` };
    const checked = verifyWechat(f, expected, []);
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    if (f.recall === 'Y') return { kind: 'retry', said };
    if (f.result_code === 'SUCCESS') return { kind: 'reversed', said: 'SUCCESS', proof: checked.verified };
    return { kind: 'unknown', said };
  });
}

function paymentDetails(f: WireFields): CommonPaymentDetails {
  return {
    // WeChat is both the channel and the payment method: its order number is both ids.
    out_trade_id: f.transaction_id,
    ch_trade_id: f.transaction_id,
    fee_type: f.fee_type,
    cash_fee: digitsToInt(f.cash_fee),
    coupon_fee: digitsToInt(f.coupon_fee),
    bank_type: f.bank_type,
    openid: f.openid,
    sub_openid: f.sub_openid,
    is_subscribe: f.is_subscribe,
    sub_is_subscribe: f.sub_is_subscribe,
    appid: f.appid,
    sub_appid: f.sub_appid,
    time_end: fromUtc8(f.time_end, 'compact'),
  };
}
