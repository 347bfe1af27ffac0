import type {
  Channel,
  ChannelContext,
  ChannelOrder,
  ClientOptions,
  PayResult,
  QueryResult,
  ReverseResult,
  SettlementProtocol,
} from '#core/channels/channel.ts';
import { mismatchOf } from '#core/channels/kit/answers.ts';
import { type CallOutcome, readOutcome } from '#core/channels/kit/http.ts';
import { verifyAnswer } from '#core/channels/verified.ts';
import { nonce } from '#core/ids.ts';
import { parseTally, type TallyFields, tallySign, tallyVerify } from './wire.ts';

/** WeChat's timings: the fifth channel needs no table of its own to be settled. */
export const tallyProtocol: SettlementProtocol = {
  firstQueryDelayMs: 5_000,
  queryIntervalMs: 5_000,
  maxQueries: 6,
  reverseNotBeforeMs: 15_000,
  reverseRetryDelaysMs: [5_000, 10_000, 20_000, 30_000, 30_000],
  payDeadlineMs: 15_000,
  callDeadlineMs: 10_000,
};

/** Account: `shop`. Credentials: `key`, the HMAC key both ways. */
export function tallyClient({ url, http }: ClientOptions): Channel {
  const call = (ctx: ChannelContext, action: string, deadlineMs: number, fields: TallyFields) => {
    const body = { shop: ctx.account.shop, nonce: nonce(), ...fields };
    return http.call(
      `${url}/v1/${action}`,
      JSON.stringify({ ...body, sign: tallySign(body, ctx.credentials.key ?? '') }),
      { 'content-type': 'application/json' },
      { deadlineMs, maxResponseBytes: 16 * 1024 },
    );
  };

  /** The answer's fields once its signature holds and it is about `order`; otherwise why not. */
  const read = (outcome: CallOutcome, ctx: ChannelContext, order: ChannelOrder) => {
    const got = readOutcome(outcome, parseTally);
    if (got.kind !== 'answer') return { ok: false, said: got.said } as const;
    const text = (name: string) => (got.answer[name] === undefined ? undefined : String(got.answer[name]));
    const result = text('result') ?? 'MALFORMED';
    // A paid answer must state the amount; others may leave it out.
    const paid = result === 'PAID';
    const checked = verifyAnswer(got.answer, {
      authenticity: (a) =>
        tallyVerify(a, ctx.credentials.key ?? '') ? 'signature' : { unproven: 'BAD_SIGNATURE' },
      mismatch: () =>
        mismatchOf(
          { shop: text('shop'), out_trade_no: text('out_trade_no'), total_fee: text('total_fee') },
          { shop: ctx.account.shop, out_trade_no: order.out_trade_no, total_fee: String(order.total_fee) },
          paid ? ['shop', 'out_trade_no', 'total_fee'] : ['shop', 'out_trade_no'],
        ),
    });
    if (!checked.ok) return { ok: false, said: checked.reason } as const;
    const details = { ch_trade_id: text('ref'), tally_ref: text('ref'), tally_fee: text('fee') };
    return {
      ok: true,
      said: result,
      proof: checked.verified,
      details,
      reason: text('reason') ?? result,
    } as const;
  };

  return {
    name: 'tally',
    protocol: tallyProtocol,
    async pay(ctx, command, deadlineMs): Promise<PayResult> {
      const outcome = await call(ctx, 'pay', deadlineMs, {
        out_trade_no: command.out_trade_no,
        total_fee: command.total_fee,
        auth_code: command.auth_code,
        body: command.body,
      });
      const got = read(outcome, ctx, command);
      if (!got.ok) return { kind: 'unknown', said: got.said };
      if (got.said === 'PAID')
        return { kind: 'paid', details: got.details, said: got.said, proof: got.proof };
      if (got.said === 'DECLINED') {
        return { kind: 'refused', errCode: got.said, errMsg: got.reason, said: got.said, proof: got.proof };
      }
      return { kind: 'pending', said: got.said };
    },
    async query(ctx, order, deadlineMs): Promise<QueryResult> {
      const got = read(
        await call(ctx, 'query', deadlineMs, { out_trade_no: order.out_trade_no }),
        ctx,
        order,
      );
      if (!got.ok) return { kind: 'unknown', said: got.said };
      switch (got.said) {
        case 'PAID':
          return { kind: 'paid', details: got.details, refunded: false, said: got.said, proof: got.proof };
        case 'DECLINED':
          return { kind: 'failed', errCode: got.said, errMsg: got.reason, said: got.said, proof: got.proof };
        case 'CLOSED':
          return { kind: 'closed', said: got.said, proof: got.proof };
        case 'REVERSED':
          return { kind: 'reversed', said: got.said, proof: got.proof };
        default:
          return { kind: 'pending', said: got.said };
      }
    },
    async reverse(ctx, order, deadlineMs): Promise<ReverseResult> {
      const got = read(
        await call(ctx, 'reverse', deadlineMs, { out_trade_no: order.out_trade_no }),
        ctx,
        order,
      );
      if (!got.ok) return { kind: 'unknown', said: got.said };
      if (got.said === 'REVERSED') return { kind: 'reversed', said: got.said, proof: got.proof };
      return got.said === 'RETRY' ? { kind: 'retry', said: got.said } : { kind: 'unknown', said: got.said };
    },
  };
}
