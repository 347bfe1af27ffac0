import type { ChannelContext, ChannelRefunds, RefundCommand, RefundResult } from '#core/channels/channel.ts';
import { answerVerifier } from '#core/channels/kit/answers.ts';
import { answerReader, type CallOutcome } from '#core/channels/kit/http.ts';
import { fromUtc8 } from '#core/channels/kit/time.ts';
import { type WechatExpectation, wechatAbout, wechatAuthenticity } from '#core/channels/wechat/answers.ts';
import {
  refundErrorClass,
  refundQueryErrorClass,
  refundStatusClass,
  wechatRefundProtocol,
} from '#core/channels/wechat/protocol.ts';
import { fromXml, type WireFields } from '#core/channels/wechat/wire.ts';

/** What a refund answer must match beside the order: our refund number and this refund's amount. */
export interface WechatRefundExpectation extends WechatExpectation {
  readonly out_refund_no: string;
  readonly refund_fee: number;
}

/** How the client signs and posts one WeChat call (the client's own). */
export type WechatCall = (
  ctx: ChannelContext,
  path: string,
  deadlineMs: number,
  fields: Readonly<Record<string, string | number | undefined>>,
) => Promise<CallOutcome>;

/** The refund endpoints, relative to the base URL. */
export const wechatRefundPaths = { refund: '/secapi/pay/refund', refundquery: '/pay/refundquery' } as const;

const read = answerReader(fromXml);

/**
 * WeChat Pay v2 refunds (protocol.ts `wechatRefundSource`): `/secapi/pay/refund` with the client certificate under
 * our refund number as `out_refund_no`, then `/pay/refundquery` by it. `refund_fee_type` (CNY) and
 * `refund_account` (unsettled funds first) are left to WeChat's defaults.
 */
export function wechatRefunds(
  call: WechatCall,
  expectation: (ctx: ChannelContext, command: RefundCommand) => WechatRefundExpectation,
): ChannelRefunds {
  return {
    protocol: wechatRefundProtocol,
    async refund(ctx, command, deadlineMs) {
      const outcome = await call(ctx, wechatRefundPaths.refund, deadlineMs, {
        out_trade_no: command.out_trade_no,
        out_refund_no: command.out_refund_no,
        total_fee: command.total_fee,
        refund_fee: command.refund_fee,
        refund_desc: command.refund_desc,
      });
      return readRefundAnswer(outcome, expectation(ctx, command));
    },
    async query(ctx, command, deadlineMs) {
      const outcome = await call(ctx, wechatRefundPaths.refundquery, deadlineMs, {
        out_refund_no: command.out_refund_no,
      });
      return readRefundQueryAnswer(outcome, expectation(ctx, command));
    },
  };
}

type Stated = 'out_trade_no' | 'total_fee' | 'out_refund_no' | 'refund_fee';

/**
 * Proves a refund call's answer is WeChat's and about this refund: the order's ids and amount, our `out_refund_no`
 * and this refund's `refund_fee` wherever stated (申请退款's answer states them all).
 */
const verifyRefund = answerVerifier<WireFields, WechatRefundExpectation, Stated>({
  authenticity: wechatAuthenticity,
  about: (f, expected) =>
    wechatAbout(f, expected, {
      out_refund_no: expected.out_refund_no,
      refund_fee: String(expected.refund_fee),
    }),
});

/**
 * Proves a refund query's answer is WeChat's and about this order. Its own `refund_fee` is the order's refunded
 * total (退款总金额), not ours: our refund is the `_$n` entry the reader finds and checks.
 */
const verifyRefundQuery = answerVerifier<WireFields, WechatExpectation, Stated>({
  authenticity: wechatAuthenticity,
  about: (f, expected) => wechatAbout(f, expected, {}),
});

/**
 * Reads WeChat's answer to `/secapi/pay/refund` (申请退款). `result_code=SUCCESS` about our order, number and amount
 * is an accepted refund: processing, decided by refundquery (申请退款接口的返回仅代表业务的受理情况). A FAIL by its
 * err_code (protocol.ts `refundErrorClass`); nothing unverified decides anything.
 */
export function readRefundAnswer(outcome: CallOutcome, expected: WechatRefundExpectation): RefundResult {
  return read(outcome, (f): RefundResult => {
    if (f.return_code !== 'SUCCESS') return { kind: 'unknown', said: `FAIL:${f.return_msg ?? ''}` };
    const accepted = f.result_code === 'SUCCESS';
    const checked = verifyRefund(
      f,
      expected,
      accepted ? ['out_trade_no', 'out_refund_no', 'refund_fee'] : [],
    );
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    if (accepted) return { kind: 'processing', ch_refund_id: f.refund_id || undefined, said: 'SUCCESS' };
    if (f.result_code !== 'FAIL' || !f.err_code) return { kind: 'unknown', said: 'MALFORMED' };
    const errCode = f.err_code;
    switch (refundErrorClass[errCode]) {
      case 'retry':
        return { kind: 'retry', said: errCode };
      case 'refused':
        return {
          kind: 'failed',
          errCode,
          errMsg: f.err_code_des || errCode,
          said: errCode,
          proof: checked.verified,
        };
      default:
        return { kind: 'unknown', said: errCode };
    }
  });
}

/**
 * Reads WeChat's answer to `/pay/refundquery` (查询退款) by our `out_refund_no`. It lists refunds as `*_$n` fields:
 * ours is the one entry whose `out_refund_no_$n` is our number, and it must state our amount. Its
 * `refund_status_$n` decides (`refundStatusClass`): SUCCESS (with `refund_success_time_$n`), PROCESSING,
 * REFUNDCLOSE (failed), CHANGE (abnormal). REFUNDNOTEXIST is a verified "no such refund"; SYSTEMERROR asks again.
 */
export function readRefundQueryAnswer(outcome: CallOutcome, expected: WechatRefundExpectation): RefundResult {
  return read(outcome, (f): RefundResult => {
    if (f.return_code !== 'SUCCESS') return { kind: 'unknown', said: `FAIL:${f.return_msg ?? ''}` };
    if (f.result_code === 'FAIL' && f.err_code) {
      const checked = verifyRefundQuery(f, expected, []);
      if (!checked.ok) return { kind: 'unknown', said: checked.reason };
      const errCode = f.err_code;
      const errClass = refundQueryErrorClass[errCode];
      if (errClass === 'absent') return { kind: 'absent', said: errCode, proof: checked.verified };
      return { kind: errClass === 'retry' ? 'retry' : 'unknown', said: errCode };
    }
    if (f.result_code !== 'SUCCESS') return { kind: 'unknown', said: 'MALFORMED' };
    const checked = verifyRefundQuery(f, expected, ['out_trade_no']);
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    const entries = Object.keys(f).filter(
      (name) => /^out_refund_no_\d{1,3}$/.test(name) && f[name] === expected.out_refund_no,
    );
    const [only] = entries;
    if (only === undefined) return { kind: 'unknown', said: 'MISMATCH:out_refund_no' };
    if (entries.length > 1) return { kind: 'unknown', said: 'AMBIGUOUS:out_refund_no' };
    const n = only.slice('out_refund_no_'.length);
    const entry = (name: string): string | undefined => f[`${name}_${n}`] || undefined;
    if (entry('refund_fee') !== String(expected.refund_fee)) {
      return { kind: 'unknown', said: 'MISMATCH:refund_fee' };
    }
    const status = entry('refund_status') ?? 'NO_REFUND_STATUS';
    const ch_refund_id = entry('refund_id');
    const proof = checked.verified;
    switch (refundStatusClass[status]) {
      case 'refunded':
        return {
          kind: 'refunded',
          ch_refund_id,
          refund_time: fromUtc8(entry('refund_success_time'), 'dashed'),
          said: status,
          proof,
        };
      case 'processing':
        return { kind: 'processing', ch_refund_id, said: status };
      case 'failed':
        return {
          kind: 'failed',
          errCode: status,
          errMsg: 'WeChat: 退款关闭, nothing was refunded',
          said: status,
          proof,
        };
      case 'abnormal':
        return { kind: 'abnormal', ch_refund_id, said: status, proof };
      default:
        return { kind: 'unknown', said: status };
    }
  });
}
