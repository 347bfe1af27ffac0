import {
  type BlueoceanRefundApi,
  blueoceanRefundApis,
  blueoceanRefundProtocol,
  defaultBlueoceanApi,
  refundCodeClass,
  refundNotFoundCodes,
  refundStatusClass,
  successCode,
} from '#core/channels/blueocean/protocol.ts';
import {
  type BlueoceanAnswer,
  fromBlueoceanTime,
  parseAnswer,
  type RequestFields,
  verifyData,
} from '#core/channels/blueocean/wire.ts';
import type { ChannelContext, ChannelRefunds, RefundCommand, RefundResult } from '#core/channels/channel.ts';
import { mismatchOf } from '#core/channels/kit/answers.ts';
import { type CallOutcome, readOutcome } from '#core/channels/kit/http.ts';
import { type Verification, type Verified, verifyAnswer } from '#core/channels/verified.ts';

/** What a refund answer must match to be about the refund that was sent. */
export interface BlueoceanRefundExpectation {
  /** The merchant's BlueOcean key, which signs both ways. */
  readonly key: string;
  readonly out_trade_no: string;
  /** The order's amount, in the smallest unit of the account's currency (HK cents). */
  readonly total_fee: number;
  /** Our refund number (the refund_id). */
  readonly out_refund_no: string;
  readonly refund_fee: number;
  /** The account's currency: an answer stating another `fee_type`/`refund_fee_type` is about another amount. */
  readonly currency: string;
  /** Whether the client talks to its host over verified `https://`: an unsigned error counts only then. */
  readonly overTls: boolean;
}

/** The identifiers and amounts an answer states about one refund (one `_$n` entry of a refund query by order). */
type RefundView = Readonly<Record<string, string | undefined>>;

type Required = 'out_trade_no' | 'out_refund_no' | 'refund_fee';

const text = (value: string | undefined) => (value === '' ? undefined : value);

/**
 * Proves an answer is BlueOcean's and about this refund. An answer with `data` must carry `data.sign` that
 * verifies with the merchant's key; the error form (`{code, message}`, never signed) counts only bare and over
 * verified TLS. Every identifier and amount the answer states about the refund (`view`) must be ours, and the
 * `required` ones stated at all.
 */
function verifyRefund(
  answer: BlueoceanAnswer,
  expected: BlueoceanRefundExpectation,
  view: RefundView | undefined,
  required: readonly Required[],
): Verification<BlueoceanAnswer> {
  return verifyAnswer(answer, {
    authenticity: (a) => {
      if (!a.data) {
        if (!a.bare) return { unproven: 'UNSIGNED_WITH_EXTRA_FIELDS' };
        return expected.overTls ? 'transport' : { unproven: 'UNSIGNED_WITHOUT_TLS' };
      }
      if (a.data.sign === undefined) return { unproven: 'UNSIGNED' };
      return verifyData(a.data, expected.key) ? 'signature' : { unproven: 'BAD_SIGNATURE' };
    },
    mismatch: () => {
      if (!view) return undefined;
      const ours = {
        out_trade_no: expected.out_trade_no,
        total_fee: String(expected.total_fee),
        fee_type: expected.currency,
        out_refund_no: expected.out_refund_no,
        refund_fee: String(expected.refund_fee),
        refund_fee_type: expected.currency,
      };
      return mismatchOf(view, ours, required);
    },
  });
}

/** A verified refund's state (`refund_status`) as the result the domain reads; states not listed decide nothing. */
function stateResult(status: string, view: RefundView, proof: Verified<BlueoceanAnswer>): RefundResult {
  const state = refundStatusClass[status];
  const ch_refund_id = text(view.refund_id);
  switch (state?.kind) {
    case 'refunded':
      return {
        kind: 'refunded',
        ch_refund_id,
        refund_time: fromBlueoceanTime(text(view.refund_time)),
        said: status,
        proof,
      };
    case 'failed':
      return { kind: 'failed', errCode: status, errMsg: state.says, said: status, proof };
    case 'abnormal':
      return { kind: 'abnormal', ch_refund_id, said: status, proof };
    case 'processing':
      return { kind: 'processing', ch_refund_id, said: status };
    default:
      return { kind: 'unknown', said: status };
  }
}

/**
 * Reads BlueOcean's answer to a refund. A verified `200` about this refund is the refund accepted: the wechat
 * generation's answer (payment-refund.md) states no refund state, so it is `processing` and the refund query
 * follows it; the unified one's (zh_CN.md 2.2) carries `refund_status`, read as the refund query's. An error code
 * is read by `refundCodeClass`.
 */
export function readRefundAnswer(outcome: CallOutcome, expected: BlueoceanRefundExpectation): RefundResult {
  const got = readOutcome(outcome, parseAnswer);
  if (got.kind === 'unknown') return got;
  const a = got.answer;
  if (a.code !== successCode) return errorResult(a, expected);
  const data = a.data;
  if (!data) return { kind: 'unknown', said: 'MALFORMED' };
  const checked = verifyRefund(a, expected, data, ['out_trade_no', 'out_refund_no', 'refund_fee']);
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  const status = text(data.refund_status);
  if (status === undefined)
    return { kind: 'processing', ch_refund_id: text(data.refund_id), said: successCode };
  return stateResult(status, data, checked.verified);
}

function errorResult(a: BlueoceanAnswer, expected: BlueoceanRefundExpectation): RefundResult {
  switch (refundCodeClass[a.code] ?? 'retry') {
    case 'failed': {
      const checked = verifyRefund(a, expected, a.data, []);
      if (!checked.ok) return { kind: 'unknown', said: checked.reason };
      return {
        kind: 'failed',
        errCode: a.code,
        errMsg: a.message || a.code,
        said: a.code,
        proof: checked.verified,
      };
    }
    case 'query':
      // The refund may be BlueOcean's already: followed as accepted, the refund query decides (absent: sent again).
      return { kind: 'processing', said: a.code };
    default:
      return { kind: 'retry', said: a.code };
  }
}

/**
 * Reads BlueOcean's answer to a refund query. By refund (unified, zh_CN.md 2.2.1): `data` is the refund. By order
 * (wechat generation, payment-refundquery.md): `data` lists the order's refunds as `out_refund_no_$n`,
 * `refund_fee_$n`, `refund_id_$n`, `refund_status_$n`; ours is the entry with our number, its amount must be
 * ours, and a verified list of our order without it is `absent`, as is a verified "no such order/data"
 * (`refundNotFoundCodes`). Other errors and silence decide nothing: the query is made again.
 */
export function readRefundQueryAnswer(
  outcome: CallOutcome,
  expected: BlueoceanRefundExpectation,
  queryBy: BlueoceanRefundApi['queryBy'],
): RefundResult {
  const got = readOutcome(outcome, parseAnswer);
  if (got.kind === 'unknown') return got;
  const a = got.answer;
  if (a.code !== successCode) {
    if (!refundNotFoundCodes.includes(a.code)) return { kind: 'unknown', said: a.code };
    const checked = verifyRefund(a, expected, a.data, []);
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    return { kind: 'absent', said: a.code, proof: checked.verified };
  }
  const data = a.data;
  if (!data) return { kind: 'unknown', said: 'MALFORMED' };
  const view = queryBy === 'refund' ? data : entryOf(data, expected.out_refund_no);
  if (view === 'AMBIGUOUS') return { kind: 'unknown', said: view };
  if (view === undefined) {
    const order = { out_trade_no: data.out_trade_no, total_fee: data.total_fee, fee_type: data.fee_type };
    const checked = verifyRefund(a, expected, order, ['out_trade_no']);
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    return { kind: 'absent', said: 'NOT_LISTED', proof: checked.verified };
  }
  const checked = verifyRefund(a, expected, view, ['out_trade_no', 'out_refund_no', 'refund_fee']);
  if (!checked.ok) return { kind: 'unknown', said: checked.reason };
  return stateResult(text(view.refund_status) ?? 'UNKNOWN', view, checked.verified);
}

/**
 * Our refund among an order's `_$n` entries, as the fields of one refund (beside the order's); undefined when it
 * is not listed, `AMBIGUOUS` when listed twice. `refund_success_time` has no `$n` in the document: it is the
 * refund's only when the order lists one refund (`refund_success_time_$n`, WeChat's form, is read first).
 */
function entryOf(
  data: Readonly<Record<string, string>>,
  outRefundNo: string,
): RefundView | 'AMBIGUOUS' | undefined {
  const listed = Object.keys(data)
    .map((name) => /^out_refund_no_(\d{1,3})$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined);
  const ours = listed.filter((n) => data[`out_refund_no_${n}`] === outRefundNo);
  if (ours.length > 1) return 'AMBIGUOUS';
  const n = ours[0];
  if (n === undefined) return undefined;
  return {
    out_trade_no: data.out_trade_no,
    total_fee: data.total_fee,
    fee_type: data.fee_type,
    out_refund_no: data[`out_refund_no_${n}`],
    refund_fee: data[`refund_fee_${n}`],
    refund_id: data[`refund_id_${n}`],
    refund_status: data[`refund_status_${n}`],
    refund_time:
      data[`refund_success_time_${n}`] ?? (listed.length === 1 ? data.refund_success_time : undefined),
  };
}

/** How the client makes one signed call (`client.ts`): `none` on timeout, network or HTTP error. */
export type BlueoceanCall = (
  ctx: ChannelContext,
  path: string,
  deadlineMs: number,
  fields: RequestFields,
) => Promise<CallOutcome>;

/** The refund calls of the generation the account uses. */
export function refundApiOf(ctx: ChannelContext): BlueoceanRefundApi {
  return (
    blueoceanRefundApis[ctx.account.api ?? defaultBlueoceanApi] ??
    (blueoceanRefundApis.wechat as BlueoceanRefundApi)
  );
}

/**
 * BlueOcean's refunds (protocol.ts `blueoceanRefundSource`): the refund under our refund number, with the order's
 * `total_fee` where the generation requires it, and the refund query by order or by refund number.
 */
export function blueoceanRefunds(options: {
  readonly call: BlueoceanCall;
  readonly overTls: boolean;
}): ChannelRefunds {
  const expectation = (ctx: ChannelContext, command: RefundCommand): BlueoceanRefundExpectation => ({
    key: ctx.credentials.api_key ?? '',
    out_trade_no: command.out_trade_no,
    total_fee: command.total_fee,
    out_refund_no: command.out_refund_no,
    refund_fee: command.refund_fee,
    currency: ctx.account.currency ?? '',
    overTls: options.overTls,
  });
  return {
    protocol: blueoceanRefundProtocol,
    async refund(ctx, command, deadlineMs) {
      const api = refundApiOf(ctx);
      const outcome = await options.call(ctx, api.paths.refund, deadlineMs, {
        out_trade_no: command.out_trade_no,
        out_refund_no: command.out_refund_no,
        total_fee: api.sendsTotalFee ? command.total_fee : undefined,
        refund_fee: command.refund_fee,
        refund_desc: command.refund_desc,
      });
      return readRefundAnswer(outcome, expectation(ctx, command));
    },
    async query(ctx, command, deadlineMs) {
      const api = refundApiOf(ctx);
      const names =
        api.queryBy === 'refund'
          ? { customer_refund_no: command.out_refund_no }
          : { out_trade_no: command.out_trade_no };
      const outcome = await options.call(ctx, api.paths.refundQuery, deadlineMs, names);
      return readRefundQueryAnswer(outcome, expectation(ctx, command), api.queryBy);
    },
  };
}
