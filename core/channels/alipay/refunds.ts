import type { KeyObject } from 'node:crypto';
import {
  type AlipayAnswer,
  type AlipayMethod,
  alipayAuthenticity,
  readAnswer,
  withoutCodes,
} from '#core/channels/alipay/answers.ts';
import {
  alipayRefundProtocol,
  type RefundAnswerClass,
  refundCodeClass,
  refundQuerySubCodeClass,
  refundStatusClass,
  refundSubCodeClass,
} from '#core/channels/alipay/protocol.ts';
import type { ChannelContext, ChannelRefunds, RefundCommand, RefundResult } from '#core/channels/channel.ts';
import { answerVerifier } from '#core/channels/kit/answers.ts';
import type { CallOutcome } from '#core/channels/kit/http.ts';
import { fromUtc8 } from '#core/channels/kit/time.ts';
import { fenToYuan, yuanToFen } from '#core/money.ts';

/** A refund's business parameters as they go into `biz_content`: strings, lists of strings, or left out. */
export type AlipayBiz = Readonly<Record<string, string | readonly string[] | undefined>>;

/** How the client signs and posts one Alipay call (`alipayClient`'s own). */
export type AlipayCall = (
  ctx: ChannelContext,
  method: AlipayMethod,
  deadlineMs: number,
  biz: AlipayBiz,
) => Promise<CallOutcome>;

/** What a refund answer must match to be about the refund that was sent. */
export interface AlipayRefundExpectation {
  /** Alipay's public key for this app: every answer that decides anything is signed with its private half. */
  readonly alipayPublicKey: KeyObject | undefined;
  readonly out_trade_no: string;
  /** The order's amount, fen. */
  readonly total_fee: number;
  /** Our refund number (the refund_id), Alipay's `out_request_no`. */
  readonly out_request_no: string;
  /** This refund's amount, fen. */
  readonly refund_fee: number;
}

/**
 * Alipay refunds (统一收单交易退款接口 and 统一收单交易退款查询; core/channels/alipay/protocol.ts names the documents and
 * holds the tables): `alipay.trade.refund` under our refund number as `out_request_no`, then
 * `alipay.trade.fastpay.refund.query` for it, both signed and posted as the client's other calls.
 */
export function alipayRefunds(
  call: AlipayCall,
  alipayPublicKey: (ctx: ChannelContext) => KeyObject | undefined,
): ChannelRefunds {
  const expectation = (ctx: ChannelContext, command: RefundCommand): AlipayRefundExpectation => ({
    alipayPublicKey: alipayPublicKey(ctx),
    out_trade_no: command.out_trade_no,
    total_fee: command.total_fee,
    out_request_no: command.out_refund_no,
    refund_fee: command.refund_fee,
  });
  return {
    protocol: alipayRefundProtocol,
    async refund(ctx, command, deadlineMs) {
      const outcome = await call(ctx, 'alipay.trade.refund', deadlineMs, {
        out_trade_no: command.out_trade_no,
        refund_amount: fenToYuan(command.refund_fee),
        // Always sent, full refunds too: the same number on every retry is what makes a retry refund once.
        out_request_no: command.out_refund_no,
        refund_reason: command.refund_desc,
      });
      return readRefundAnswer(outcome, expectation(ctx, command));
    },
    async query(ctx, command, deadlineMs) {
      const outcome = await call(ctx, 'alipay.trade.fastpay.refund.query', deadlineMs, {
        out_trade_no: command.out_trade_no,
        out_request_no: command.out_refund_no,
        // When Alipay made the refund is returned only when asked for.
        query_options: ['gmt_refund_pay'],
      });
      return readRefundQueryAnswer(outcome, expectation(ctx, command));
    },
  };
}

/** A field Alipay sends as a string; undefined when absent, empty or not a string. */
function text(fields: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = fields[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A yuan amount the answer states, as fen for comparing; a marker that never matches when it is not exact. */
function fenStated(fields: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  const fen = typeof value === 'string' ? yuanToFen(value) : undefined;
  return fen === undefined ? `not fen: ${String(value)}` : String(fen);
}

/** What a refund answer is checked against: the refund, and whether the answer says it made it (`fund_change=Y`). */
type RefundCheck = AlipayRefundExpectation & { readonly made?: boolean };

/**
 * Proves a refund answer is Alipay's and about this refund. Authenticity exactly as the pay and query answers
 * (`alipayAuthenticity`: `sign` verifies, RSA2 with Alipay's public key, over the node as sent). Then every id and
 * amount it states must be ours — `out_trade_no`, `out_request_no`, `refund_amount` (this refund, yuan),
 * `total_amount` (the order) — and the `required` ones must be stated at all. `refund_fee`, which the refund
 * call's answer states, is the trade's refunded total ("退款总金额: 该笔交易累计已经退款成功的金额"), not this
 * refund's amount: it must stay within the order and, with `fund_change=Y`, hold this refund.
 */
const verifyRefundAnswer = answerVerifier<
  AlipayAnswer,
  RefundCheck,
  'out_trade_no' | 'out_request_no' | 'refund_amount' | 'refund_fee'
>({
  authenticity: alipayAuthenticity,
  about: (a, expected) => {
    const refunded = fenStated(a.fields, 'refund_fee');
    const total = Number(refunded);
    const holds =
      Number.isSafeInteger(total) &&
      total <= expected.total_fee &&
      (!expected.made || total >= expected.refund_fee);
    return {
      stated: {
        out_trade_no: text(a.fields, 'out_trade_no'),
        out_request_no: text(a.fields, 'out_request_no'),
        refund_amount: fenStated(a.fields, 'refund_amount'),
        total_amount: fenStated(a.fields, 'total_amount'),
        refund_fee: refunded === undefined ? undefined : holds ? 'holds' : `does not hold: ${refunded}`,
      },
      ours: {
        out_trade_no: expected.out_trade_no,
        out_request_no: expected.out_request_no,
        refund_amount: String(expected.refund_fee),
        total_amount: String(expected.total_fee),
        refund_fee: 'holds',
      },
    };
  },
});

/** The class of an answer's gateway `code`, read through `subCodes` for a `40004`; undefined when not listed. */
function classOf<C extends string>(
  code: string,
  subCode: string | undefined,
  subCodes: Readonly<Record<string, C>>,
): 'answered' | RefundAnswerClass | C | undefined {
  const codeClass = refundCodeClass[code];
  if (codeClass !== 'by_sub_code') return codeClass;
  return subCode === undefined ? undefined : subCodes[subCode];
}

/**
 * Reads Alipay's answer to `alipay.trade.refund` (退款成功判断指导: "fund_change=Y is a refund made; fund_change=N,
 * or none, must be confirmed by the refund query; code=10000 alone only says the request succeeded"). `refunded`
 * only for a verified `10000` with `fund_change=Y` about this order whose refunded total holds this refund;
 * another `10000` is accepted and queried (`processing`: a replay of a refund made answers `fund_change=N`, and so
 * does one still being made). A `40004` is read by its `sub_code` (protocol.ts's table); nothing unverified
 * decides anything.
 */
export function readRefundAnswer(outcome: CallOutcome, expected: AlipayRefundExpectation): RefundResult {
  const got = readAnswer(outcome, 'alipay.trade.refund');
  if (got.kind !== 'node') return got;
  const { fields } = got.answer;
  const code = text(fields, 'code');
  if (code === undefined) return { kind: 'unknown', said: 'MALFORMED' };
  const subCode = text(fields, 'sub_code');
  const codeClass = classOf(code, subCode, refundSubCodeClass);
  const fundChange = text(fields, 'fund_change');
  const made = codeClass === 'answered' && fundChange === 'Y';
  const checked = verifyRefundAnswer(
    got.answer,
    { ...expected, made },
    made ? ['out_trade_no', 'refund_fee'] : [],
  );
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  const errCode = subCode ?? code;
  switch (codeClass) {
    case 'answered':
      return made
        ? {
            kind: 'refunded',
            refund_time: fromUtc8(text(fields, 'gmt_refund_pay'), 'dashed'),
            said: '10000 fund_change=Y',
            proof: checked.verified,
          }
        : { kind: 'processing', said: `10000 fund_change=${fundChange ?? '-'}` };
    case 'failed': {
      const errMsg = withoutCodes(text(fields, 'sub_msg') ?? text(fields, 'msg') ?? code);
      return { kind: 'failed', errCode, errMsg, said: errCode, proof: checked.verified };
    }
    case 'query':
      return { kind: 'processing', said: errCode };
    case 'retry':
      return { kind: 'retry', said: errCode };
    default:
      return { kind: 'unknown', said: errCode };
  }
}

/**
 * Reads Alipay's answer to `alipay.trade.fastpay.refund.query` ("code=10000 only says the query succeeded, not the
 * refund"). A `10000` by its `refund_status` (protocol.ts's table): `REFUND_SUCCESS` about this refund and amount
 * is `refunded`; `REFUND_FAIL` is `failed`; `REFUND_PROCESSING`, or no status on an answer naming this refund, is
 * `processing`; an answer that states no refund (no `refund_amount`) is `absent`: sent again under the same number,
 * as the document says to do with a refund not found. A `40004` by its `sub_code`; `20000` asks to query again.
 * A query never refuses a refund.
 */
export function readRefundQueryAnswer(outcome: CallOutcome, expected: AlipayRefundExpectation): RefundResult {
  const got = readAnswer(outcome, 'alipay.trade.fastpay.refund.query');
  if (got.kind !== 'node') return got;
  const { fields } = got.answer;
  const code = text(fields, 'code');
  if (code === undefined) return { kind: 'unknown', said: 'MALFORMED' };
  const subCode = text(fields, 'sub_code');
  const codeClass = classOf(code, subCode, refundQuerySubCodeClass);
  if (codeClass !== 'answered') {
    const said = subCode ?? code;
    const kind = codeClass === 'retry' || codeClass === 'absent' ? codeClass : 'unknown';
    const checked = verifyRefundAnswer(got.answer, expected, []);
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    return kind === 'absent' ? { kind, said, proof: checked.verified } : { kind, said };
  }
  const status = text(fields, 'refund_status');
  // The refund's amount is what a found refund states ("本次退款请求，对应的退款金额"); an answer without it holds none.
  const namesRefund = fields.refund_amount !== undefined;
  const statusClass =
    status === undefined ? (namesRefund ? 'processing' : 'absent') : (refundStatusClass[status] ?? 'unknown');
  const required = {
    refunded: ['out_request_no', 'refund_amount'] as const,
    failed: ['out_request_no'] as const,
    processing: ['out_request_no', 'refund_amount'] as const,
    absent: [],
    unknown: [],
  }[statusClass];
  const checked = verifyRefundAnswer(got.answer, expected, required);
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  const said = status ?? (namesRefund ? 'NO_REFUND_STATUS' : 'NO_SUCH_REFUND');
  switch (statusClass) {
    case 'refunded':
      return {
        kind: 'refunded',
        refund_time: fromUtc8(text(fields, 'gmt_refund_pay'), 'dashed'),
        said,
        proof: checked.verified,
      };
    case 'failed':
      return {
        kind: 'failed',
        errCode: text(fields, 'error_code') ?? said,
        errMsg: 'Alipay: the refund failed (退款失败); nothing was refunded',
        said,
        proof: checked.verified,
      };
    case 'absent':
      return { kind: 'absent', said, proof: checked.verified };
    case 'processing':
      return { kind: 'processing', said };
    default:
      return { kind: 'unknown', said };
  }
}
