import type { Verified } from '#core/channels/verified.ts';
import type { PaymentDetails } from '#core/orders/order.ts';

/** The channel account a merchant's pay type is routed to (e.g. WeChat `appid`, `mch_id`). */
export type ChannelAccount = Readonly<Record<string, string>>;

/** Channel credentials from the merchant's secret (e.g. WeChat `api_key`, client certificate). */
export type ChannelCredentials = Readonly<Record<string, string>>;

/** Who is paying whom, as a channel needs it for every call. */
export interface ChannelContext {
  readonly account: ChannelAccount;
  readonly credentials: ChannelCredentials;
}

/** The order a query or reverse is about, as the channel knows it: an answer must match it to decide anything. */
export interface ChannelOrder {
  /** Our id for the order at the channel (the channel's `out_trade_no`). */
  readonly out_trade_no: string;
  readonly total_fee: number;
}

export interface PayCommand {
  /** Our id for the order at the channel (the channel's `out_trade_no`). */
  readonly out_trade_no: string;
  readonly total_fee: number;
  readonly auth_code: string;
  readonly body: string;
  readonly spbill_create_ip: string;
  /** The order title (Alipay's required `subject`; a channel without one uses `body`). */
  readonly subject?: string;
  readonly attach?: string;
  readonly device_info?: string;
  readonly store_id?: string;
  /** The cashier (Alipay's `operator_id`). */
  readonly op_user_id?: string;
  /** The till (Alipay's `terminal_id`, else `device_info`). */
  readonly op_device_id?: string;
  /** `bar_code` (default) or `wave_code`. */
  readonly scene?: string;
  readonly goods_tag?: string;
  readonly fee_type?: string;
  readonly time_start?: number;
  readonly time_expire?: number;
}

/** The proof a decisive result carries: only a verified answer can decide an order's money. */
interface Proven {
  readonly proof: Verified<unknown>;
}

/**
 * What a pay call came to. `paid` and `refused` are final and carry the verified answer that says so;
 * `pending` (the user is paying, or a system error) and `unknown` (no answer, or one that could not be
 * verified) decide nothing and must be settled by the protocol.
 */
export type PayResult =
  | ({ readonly kind: 'paid'; readonly details: PaymentDetails; readonly word: string } & Proven)
  | ({
      readonly kind: 'refused';
      readonly errCode: string;
      readonly errMsg: string;
      readonly word: string;
    } & Proven)
  | { readonly kind: 'pending'; readonly errCode?: string; readonly errMsg?: string; readonly word: string }
  | { readonly kind: 'unknown'; readonly word: string };

/** What a query found. `paid` with `refunded` is a payment that was later refunded in full or in part. */
export type QueryResult =
  | ({
      readonly kind: 'paid';
      readonly details: PaymentDetails;
      readonly refunded: boolean;
      readonly word: string;
    } & Proven)
  | ({
      readonly kind: 'failed';
      readonly errCode: string;
      readonly errMsg: string;
      readonly word: string;
    } & Proven)
  | ({ readonly kind: 'closed'; readonly word: string } & Proven)
  | ({ readonly kind: 'reversed'; readonly word: string } & Proven)
  | { readonly kind: 'pending'; readonly word: string }
  | { readonly kind: 'unknown'; readonly word: string };

/** What a query's trade state means for the order (the channels' `queryStateClass` tables). */
export type TradeStateClass = 'paid' | 'refunded' | 'failed' | 'closed' | 'reversed' | 'pending';

/**
 * A verified query answer's final trade state as the result settlement reads: `paid` and `refunded` both keep
 * the payment (the refund is noted), `failed` carries the state and its description.
 */
export function finalQueryResult(
  stateClass: Exclude<TradeStateClass, 'pending'>,
  state: string,
  answer: { readonly details: () => PaymentDetails; readonly description: string },
  proof: Verified<unknown>,
): QueryResult {
  switch (stateClass) {
    case 'paid':
    case 'refunded':
      return {
        kind: 'paid',
        details: answer.details(),
        refunded: stateClass === 'refunded',
        word: state,
        proof,
      };
    case 'failed':
      return { kind: 'failed', errCode: state, errMsg: answer.description, word: state, proof };
    case 'closed':
      return { kind: 'closed', word: state, proof };
    case 'reversed':
      return { kind: 'reversed', word: state, proof };
  }
}

/**
 * `retry`: the channel asks to call reverse again (`recall=Y`, `retry_flag=Y`); `unknown`: no usable answer, or
 * not reversed. A channel that says what its reverse did gives `action` (Alipay's cancel: `close` or `refund`).
 */
export type ReverseResult =
  | ({ readonly kind: 'reversed'; readonly word: string; readonly action?: string } & Proven)
  | { readonly kind: 'retry'; readonly word: string }
  | { readonly kind: 'unknown'; readonly word: string };

/** When to query an open payment: the first query, then the gap between queries. */
export interface QuerySchedule {
  /** Wait before the first query after a not-final pay answer. */
  readonly firstQueryDelayMs: number;
  /** Wait between two queries. */
  readonly queryIntervalMs: number;
}

/**
 * The settlement protocol of a channel, as data (SPEC section 4). Durations are real-world milliseconds;
 * the runtime multiplies them by the time scale. The default query schedule is the protocol's own.
 */
export interface SettlementProtocol extends QuerySchedule {
  /**
   * Schedules that replace the default after a particular pay answer, by the answer's word (e.g. BlueOcean:
   * 10 s after `201`, 5 s after `40400`).
   */
  readonly scheduleAfter?: Readonly<Record<string, QuerySchedule>>;
  /** Queries before giving up on the payment and reversing it. */
  readonly maxQueries: number;
  /** Queries only before this long after the pay request was sent (then reverse); unbounded when absent. */
  readonly queryWindowMs?: number;
  /**
   * Keep queries on a grid counted from the pay answer (the first delay, then every interval) rather than a
   * delay after each step, so a window after pay holds the same queries however long each step takes
   * (BlueOcean: "every 10 s until 30 s after pay"). @default false
   */
  readonly queriesFromPayAnswer?: boolean;
  /** Earliest reverse after the payment was submitted. */
  readonly reverseNotBeforeMs: number;
  /** Waits before each repeated reverse; their count + 1 is the number of reverse attempts. */
  readonly reverseRetryDelaysMs: readonly number[];
  /** How long to wait for an answer to pay, and to query or reverse. */
  readonly payDeadlineMs: number;
  readonly callDeadlineMs: number;
}

/** A payment channel (WeChat Pay v2, Alipay, BlueOcean, fshows): its wire protocol behind three calls. */
export interface Channel {
  readonly name: string;
  readonly protocol: SettlementProtocol;
  /** Checks the account and credentials a merchant needs for this channel; returns the problems found. */
  validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[];
  pay(ctx: ChannelContext, command: PayCommand, deadlineMs: number): Promise<PayResult>;
  query(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<QueryResult>;
  reverse(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<ReverseResult>;
}
