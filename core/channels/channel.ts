import type { ChannelHttp } from '#core/channels/kit/http.ts';
import type { Verified } from '#core/channels/verified.ts';
import type { PayType } from '#core/merchants.ts';

/** The channel account a merchant's pay type is routed to (e.g. WeChat `appid`, `mch_id`). */
export type ChannelAccount = Readonly<Record<string, string>>;

/** Channel credentials from the merchant's secret (e.g. WeChat `api_key`, client certificate). */
export type ChannelCredentials = Readonly<Record<string, string>>;

/** Who is paying whom, as a channel needs it for every call. */
export interface ChannelContext {
  readonly account: ChannelAccount;
  readonly credentials: ChannelCredentials;
}

/** The payment fields every channel may fill (SPEC section 2's order fields). */
// A type, not an interface: a channel's details must stay assignable to PaymentDetails' index signature.
export type CommonPaymentDetails = {
  readonly out_trade_id?: string;
  readonly ch_trade_id?: string;
  readonly fee_type?: string;
  readonly cash_fee?: number;
  /** The currency of `cash_fee` where the channel states one (WeChat charges HKD orders in CNY). */
  readonly cash_fee_type?: string;
  readonly coupon_fee?: number;
  readonly bank_type?: string;
  readonly openid?: string;
  readonly sub_openid?: string;
  readonly is_subscribe?: string;
  readonly sub_is_subscribe?: string;
  readonly appid?: string;
  readonly sub_appid?: string;
  /** Epoch seconds the channel says the payment completed. */
  readonly time_end?: number;
};

/**
 * What a channel reports about a payment: the common fields, and its own (Alipay's buyer amounts, fshows' fees),
 * which its descriptor declares in `orderFields`. All are stored flat on the order record, where finance reads them.
 */
export type PaymentDetails = CommonPaymentDetails & {
  readonly [channelField: string]: string | number | undefined;
};

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
  | ({ readonly kind: 'paid'; readonly details: PaymentDetails; readonly said: string } & Proven)
  | ({
      readonly kind: 'refused';
      readonly errCode: string;
      readonly errMsg: string;
      readonly said: string;
    } & Proven)
  | { readonly kind: 'pending'; readonly errCode?: string; readonly errMsg?: string; readonly said: string }
  | { readonly kind: 'unknown'; readonly said: string };

/** What a query found. `paid` with `refunded` is a payment that was later refunded in full or in part. */
export type QueryResult =
  | ({
      readonly kind: 'paid';
      readonly details: PaymentDetails;
      readonly refunded: boolean;
      readonly said: string;
    } & Proven)
  | ({
      readonly kind: 'failed';
      readonly errCode: string;
      readonly errMsg: string;
      readonly said: string;
    } & Proven)
  | ({ readonly kind: 'closed'; readonly said: string } & Proven)
  | ({ readonly kind: 'reversed'; readonly said: string } & Proven)
  | { readonly kind: 'pending'; readonly said: string }
  | { readonly kind: 'unknown'; readonly said: string };

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
        said: state,
        proof,
      };
    case 'failed':
      return { kind: 'failed', errCode: state, errMsg: answer.description, said: state, proof };
    case 'closed':
      return { kind: 'closed', said: state, proof };
    case 'reversed':
      return { kind: 'reversed', said: state, proof };
  }
}

/**
 * `retry`: the channel asks to call reverse again (`recall=Y`, `retry_flag=Y`); `unknown`: no usable answer, or
 * not reversed. A channel that says what its reverse did gives `action` (Alipay's cancel: `close` or `refund`).
 */
export type ReverseResult =
  | ({ readonly kind: 'reversed'; readonly said: string; readonly action?: string } & Proven)
  | { readonly kind: 'retry'; readonly said: string }
  | { readonly kind: 'unknown'; readonly said: string };

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
   * Schedules that replace the default after a particular pay answer, by what the answer said (e.g. BlueOcean:
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

/** A refund as the channel knows it: the order, and our refund number, fixed before the first call. */
export interface RefundCommand extends ChannelOrder {
  /** Our refund number at the channel (WeChat `out_refund_no`, Alipay `out_request_no`): the refund_id. */
  readonly out_refund_no: string;
  readonly refund_fee: number;
  readonly refund_desc?: string;
}

/**
 * What a refund call or refund query came to. `refunded`, `failed` (refused or closed: nothing was refunded)
 * and `abnormal` (WeChat `CHANGE`) are final and carry the verified answer. `processing`: accepted, not final.
 * `absent`: a verified answer that the channel has no such refund (a call that never arrived): send it again.
 * `retry` (the channel asks to call again with the same number) and `unknown` decide nothing.
 */
export type RefundResult =
  | ({
      readonly kind: 'refunded';
      readonly ch_refund_id?: string;
      /** Epoch seconds the channel says the refund succeeded. */
      readonly refund_time?: number;
      readonly said: string;
    } & Proven)
  | ({
      readonly kind: 'failed';
      readonly errCode: string;
      readonly errMsg: string;
      readonly said: string;
    } & Proven)
  | ({ readonly kind: 'abnormal'; readonly ch_refund_id?: string; readonly said: string } & Proven)
  | { readonly kind: 'processing'; readonly ch_refund_id?: string; readonly said: string }
  | ({ readonly kind: 'absent'; readonly said: string } & Proven)
  | { readonly kind: 'retry'; readonly said: string }
  | { readonly kind: 'unknown'; readonly said: string };

/**
 * How a channel's refunds are followed (SPEC section 8), as data. Durations are real-world milliseconds, scaled
 * like the settlement protocol's.
 */
export interface RefundProtocol {
  /** Waits before each refund query after an accepted, processing answer; the last repeats. */
  readonly queryDelaysMs: readonly [number, ...number[]];
  /** Waits before each repeated refund call after no answer or a retry answer; the last repeats. */
  readonly resendDelaysMs: readonly [number, ...number[]];
  /** How long a refund is followed before it alarms as overdue (it is still followed after). */
  readonly overdueAfterMs: number;
  readonly callDeadlineMs: number;
  /** Until when (epoch ms) a payment made at `paidAt` may still be reversed; after it /v1/reverse is 302. */
  reverseUntil?(paidAt: number): number;
  /** Where the channel documents its refund and refund query. */
  readonly source: string;
}

/** What a channel that refunds adds: its two calls and how they are followed. */
export interface ChannelRefunds {
  readonly protocol: RefundProtocol;
  refund(ctx: ChannelContext, command: RefundCommand, deadlineMs: number): Promise<RefundResult>;
  query(ctx: ChannelContext, command: RefundCommand, deadlineMs: number): Promise<RefundResult>;
}

/**
 * One payment or refund as a channel's statement (对账单) lists it, normalised for the comparison (SPEC section 9).
 * Amounts are integers of fen, read exactly from the statement's yuan.
 */
export interface StatementRow {
  /** The statement's day (UTC+8 calendar day unless the channel's statement uses another), `YYYY-MM-DD`. */
  readonly bill_date: string;
  readonly kind: 'pay' | 'refund';
  /** Our order number at the channel (the order's trade_id). */
  readonly out_trade_no: string;
  /** The channel's own transaction id. */
  readonly channel_trade_no?: string;
  /** Our refund number at the channel (the refund's refund_id), for a refund. */
  readonly out_refund_no?: string;
  readonly channel_refund_no?: string;
  /** Fen paid (a payment) or refunded (a refund). */
  readonly fee: number;
  /**
   * The outcome as the comparison reads it: `paid` or `reversed` for a payment; `refunded`, `refund_processing`,
   * `refund_failed` or `refund_abnormal` for a refund.
   */
  readonly state: string;
  /** The channel's own word for it (`SUCCESS`, `REVOKED`, `PROCESSING`…). */
  readonly channel_state: string;
  /** ISO UTC time the channel lists, where it lists one. */
  readonly time?: string;
  /** The channel's fee (手续费/服务费) on the row in fen, where the statement gives one. */
  readonly service_fee?: number;
}

/**
 * What fetching one account's statement of one day came to: `published` with the file exactly as fetched and its
 * rows; `not_published` (WeChat `No Bill Exist` before 10:00 UTC+8 next day…): fetch again later, never report
 * rows missing; `unknown`: no usable answer.
 */
export type StatementFetch =
  | { readonly kind: 'published'; readonly raw: Buffer; readonly rows: readonly StatementRow[] }
  | { readonly kind: 'not_published'; readonly said: string }
  | { readonly kind: 'unknown'; readonly said: string };

/** A channel's statements (SPEC section 9), where it publishes them. */
export interface ChannelStatements {
  /** Where the channel documents its statement. */
  readonly source: string;
  /** The account a statement belongs to, as its file is named (`mch_id`, `app_id`…). */
  accountOf(ctx: ChannelContext): string;
  fetch(ctx: ChannelContext, billDate: string, deadlineMs: number): Promise<StatementFetch>;
  /** Reads a kept statement file again (the same reading `fetch` did). */
  read(raw: Buffer, billDate: string): readonly StatementRow[];
}

/** A payment channel: its wire protocol behind three calls, and refunds where it documents them. */
export interface Channel {
  readonly name: string;
  readonly protocol: SettlementProtocol;
  pay(ctx: ChannelContext, command: PayCommand, deadlineMs: number): Promise<PayResult>;
  query(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<QueryResult>;
  reverse(ctx: ChannelContext, order: ChannelOrder, deadlineMs: number): Promise<ReverseResult>;
  /** Absent for a channel with no documented refund: refunds on its routes answer 202. */
  readonly refunds?: ChannelRefunds;
  /** Absent for a channel that publishes no statement: reconciliation lists its accounts as such. */
  readonly statements?: ChannelStatements;
}

/** One payment field a channel adds to the order record, stored flat: finance reads it as a column. */
export interface OrderField {
  readonly name: string;
  /** `fen`: an integer amount of fen; `decimal`: an exact decimal string as the channel wrote it; `text`. */
  readonly kind: 'text' | 'fen' | 'decimal';
  /** What it means, as the finance catalog (Glue's column comment) and docs/finance.md say it. */
  readonly comment: string;
  /** A column of the curated finance table. @default true */
  readonly finance?: boolean;
  /** How `data` of the merchant API shows it: as it is, or (fen) as a yuan string. Absent: not shown. */
  readonly view?: 'as-is' | 'yuan';
}

/** One flag of `micropay merchant add` that fills a field of the route's account or of the channel's secret. */
export interface OnboardingFlag {
  /** The flag as commander reads it, e.g. `--wechat-mch-id <mch_id>`. */
  readonly flag: string;
  readonly description: string;
  /** The account field (`account.mch_id`) or credential (`credentials.api_key`) it fills. */
  readonly into: `account.${string}` | `credentials.${string}`;
  /** The flag names a file, and the field gets its text (keys and certificates). */
  readonly file?: boolean;
  readonly choices?: readonly string[];
  readonly default?: string;
  /** The value that needs no storing (the channel's default): the field is left out when given it. */
  readonly implied?: string;
}

/** One setting of a channel, read from the environment (a deployment chooses it per stack). */
export interface ChannelSetting {
  /** The values it takes; the first is the default. */
  readonly values: readonly [string, ...string[]];
  readonly description: string;
}

/** What a channel's client is made from. */
export interface ClientOptions {
  /** Its endpoint: the production one, a regional host, or a sandbox. */
  readonly url: string;
  /** The HTTP client every channel shares (keep-alive, deadlines, the trusted CAs). */
  readonly http: ChannelHttp;
  /** The channel's settings (`ChannelDescriptor.settings`) by variable name, each valid or its default. */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * A channel as its own folder describes it (`core/channels/<name>/index.ts`): everything the rest of the
 * gateway needs to know of it. The registry, configuration, CDK stack, CLI, finance catalog and local stack
 * loop over the installed descriptors (`core/channels/installed.ts`) and never name a channel.
 */
export interface ChannelDescriptor {
  /** The name merchant routes use (`pay_types[…].channel`) and orders record (`channel`). */
  readonly name: string;
  /** What people call it, in help texts. */
  readonly title: string;
  /** The pay types it can serve. */
  readonly payTypes: readonly PayType[];
  /** Its production endpoint, and the environment variable that moves it (a regional host, a sandbox). */
  readonly endpoint: { readonly variable: string; readonly url: string };
  /** Its settings, by environment variable. */
  readonly settings?: Readonly<Record<string, ChannelSetting>>;
  /** The problems with a merchant's account and credentials for it (what is missing or wrong, never a key). */
  validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[];
  /** The payment fields it adds to an order, beside the common ones. */
  readonly orderFields: readonly OrderField[];
  /** `micropay merchant add`: the flag whose presence means "this channel", and every flag it takes. */
  readonly onboarding: { readonly trigger: string; readonly flags: readonly OnboardingFlag[] };
  /** The sandbox that plays it locally, by its name in `sandbox/index.ts`. */
  readonly sandbox: string;
  /** Makes its client. */
  create(options: ClientOptions): Channel;
}
