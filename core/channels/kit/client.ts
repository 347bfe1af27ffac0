import type {
  Channel,
  ChannelContext,
  ChannelOrder,
  PayCommand,
  PayResult,
  QueryResult,
  ReverseResult,
  SettlementProtocol,
} from '#core/channels/channel.ts';
import type { CallOutcome } from '#core/channels/kit/http.ts';

/** A request's fields as a channel's call takes them: absent when undefined. */
export type CallFields = Readonly<Record<string, string | number | undefined>>;

/** The three calls a channel makes, by what each is named in `ClientParts`. */
export type CallName = 'pay' | 'query' | 'reverse';

/**
 * What a channel's client is made of: its one signed call, where each of its three calls goes, what pay sends
 * (query and reverse send the order's `out_trade_no`), what an answer must match, and how each answer is read.
 */
export interface ClientParts<Target, Expectation> {
  readonly name: string;
  readonly protocol: SettlementProtocol;
  /**
   * Signs and posts one request to `target`; `none` on timeout, network or HTTP error, an oversize answer, or a
   * request that could not be signed (nothing was sent).
   */
  call(ctx: ChannelContext, target: Target, deadlineMs: number, fields: CallFields): Promise<CallOutcome>;
  /** Where each call goes for this merchant (a path, a gateway method). */
  targets(ctx: ChannelContext): Readonly<Record<CallName, Target>>;
  /** What pay sends. */
  payFields(ctx: ChannelContext, command: PayCommand): CallFields;
  /** What an answer about `order` must match. */
  expectation(ctx: ChannelContext, order: ChannelOrder): Expectation;
  readonly read: {
    readonly pay: (outcome: CallOutcome, expected: Expectation) => PayResult;
    readonly query: (outcome: CallOutcome, expected: Expectation) => QueryResult;
    readonly reverse: (outcome: CallOutcome, expected: Expectation) => ReverseResult;
  };
}

/** A channel's client from its parts: each call sends one request and reads its answer against what was sent. */
export function channelClient<Target, Expectation>(parts: ClientParts<Target, Expectation>): Channel {
  const send = (ctx: ChannelContext, call: CallName, deadlineMs: number, fields: CallFields) =>
    parts.call(ctx, parts.targets(ctx)[call], deadlineMs, fields);
  const byOrder = (order: ChannelOrder): CallFields => ({ out_trade_no: order.out_trade_no });
  return {
    name: parts.name,
    protocol: parts.protocol,
    async pay(ctx, command, deadlineMs) {
      const outcome = await send(ctx, 'pay', deadlineMs, parts.payFields(ctx, command));
      return parts.read.pay(outcome, parts.expectation(ctx, command));
    },
    async query(ctx, order, deadlineMs) {
      const outcome = await send(ctx, 'query', deadlineMs, byOrder(order));
      return parts.read.query(outcome, parts.expectation(ctx, order));
    },
    async reverse(ctx, order, deadlineMs) {
      const outcome = await send(ctx, 'reverse', deadlineMs, byOrder(order));
      return parts.read.reverse(outcome, parts.expectation(ctx, order));
    },
  };
}
