import type { QuerySchedule, RefundProtocol, SettlementProtocol } from '#core/channels/channel.ts';

/** After `201` (the user is paying): every 10 s (seed 000 提醒1). */
const userPaying: QuerySchedule = { firstQueryDelayMs: 10_000, queryIntervalMs: 10_000 };

/**
 * BlueOcean Pay micropay settlement (seed 000, 提醒1/提醒2; SPEC section 4). After `40400`/`4006` (busy), or
 * no answer, wait 5 s and query; after `201` (the user is paying) query every 10 s "until paid or timeout
 * (suggested 30 s)". Queries keep to a grid counted from the pay answer, and the window's last query is at
 * its end, 30 s after the pay request: after 201 at 10 s and 20 s after the answer and at 30 s after pay;
 * after 40400 at 5, 15 and 25 s after it and at 30 s; with no answer (the 15 s pay deadline) at 20 s and
 * 30 s. Then reverse at once, never earlier than 15 s after the payment, again with backoff while BlueOcean
 * answers `recall=Y`, an error or nothing. Between queries after a busy answer the seed names no interval;
 * its own 10 s is used. Worst case in one Express execution: the last query starts by 30 s after pay and
 * ends by 40 s, then six reverses at their 10 s deadline with 95 s of backoff: about 195 s after pay.
 */
export const blueoceanProtocol: SettlementProtocol = {
  firstQueryDelayMs: 5_000,
  queryIntervalMs: 10_000,
  // The unified API answers a payment still being made with 200 and its trade_state: the same case as 201.
  scheduleAfter: { '201': userPaying, USERPAYING: userPaying, NOTPAY: userPaying },
  // The window bounds the queries; four is its most (40400: 5, 15, 25 s after the answer, then 30 s).
  maxQueries: 4,
  queryWindowMs: 30_000,
  queriesFromPayAnswer: true,
  reverseNotBeforeMs: 15_000,
  reverseRetryDelaysMs: [5_000, 10_000, 20_000, 30_000, 30_000],
  payDeadlineMs: 15_000,
  callDeadlineMs: 10_000,
};

/** One generation of BlueOcean's API: where its three calls live and what the payment code is called. */
export interface BlueoceanApi {
  readonly paths: { readonly pay: string; readonly query: string; readonly reverse: string };
  /** The request field that carries the shopper's payment code. */
  readonly authCodeField: string;
  /** Fields the pay request always carries in this generation. */
  readonly payFields: Readonly<Record<string, string>>;
}

/**
 * The API generations an account can use (`account.api`). `wechat` is the one seed 000 documents (WeChat
 * barcode payments at `/wechat/...`), and the default; `unified` is BlueOcean's current API, which serves
 * every wallet from `/payment/pay` with `payment=micropay` and calls the payment code `code`.
 */
export const blueoceanApis: Readonly<Record<string, BlueoceanApi>> = {
  wechat: {
    paths: {
      pay: '/wechat/payment/micropay',
      query: '/wechat/order/query',
      reverse: '/wechat/order/reverse',
    },
    authCodeField: 'auth_code',
    payFields: {},
  },
  unified: {
    paths: { pay: '/payment/pay', query: '/order/query', reverse: '/order/reverse' },
    authCodeField: 'code',
    payFields: { payment: 'micropay' },
  },
};

/** The generation an account uses when it names none. */
export const defaultBlueoceanApi = 'wechat';

/**
 * How a pay answer's `code` is read (BlueOcean's 返回码 table). `pending` leaves the outcome open, to be
 * queried; `refused` is final: BlueOcean did not take the request, or the payment failed, and nothing was
 * charged. Codes not listed (`40108`, anything new) are pending: when in doubt, ask rather than declare the
 * money lost or taken.
 */
export const payCodeClass: Readonly<Record<string, 'pending' | 'refused'>> = {
  // 201: result unknown (system busy, user paying, entering a password): query every 10 s.
  '201': 'pending',
  // Busy (4006, 40400) and communication errors with WeChat (4005): the payment may be going through.
  '4005': 'pending',
  '4006': 'pending',
  '40400': 'pending',
  // Our out_trade_no is unique per order, so "already paid", "number already used", "not found" and "refunded"
  // are all about this very order: ask BlueOcean what became of it.
  '40101': 'pending',
  '40102': 'pending',
  '40105': 'pending',
  '40106': 'pending',
  // 0 is "general error, not classified", 40600 "unknown error (not listed)": nothing definitive.
  '0': 'pending',
  '40600': 'pending',
  // Refused: the request itself was not accepted (wrong path, format, appid, parameters, signature, method,
  // encoding), or the payment definitively failed (closed, reversed, balance, code used up, payment error).
  '404': 'refused',
  '4001': 'refused',
  '4002': 'refused',
  '4003': 'refused',
  '4004': 'refused',
  '4007': 'refused',
  '40100': 'refused',
  '40103': 'refused',
  '40104': 'refused',
  '40107': 'refused',
  '40109': 'refused',
  '40110': 'refused',
  '40111': 'refused',
  '40500': 'refused',
};

/** The success code; anything else is an error code. */
export const successCode = '200';

/**
 * At reverse, "order already reversed" (`40104`) means an earlier reverse went through (its answer was lost):
 * the order is reversed, not a reason to keep reversing until an operator is paged.
 */
export const reversedCode = '40104';

/**
 * How a reverse answer that returns the order (BlueOcean's API document: `data` with `trade_state`, no `recall`)
 * is read: revoked or closed is a reverse that happened; any other state (still paid, paying) is not.
 */
export const reverseStateClass: Readonly<Record<string, 'reversed'>> = {
  REVOKED: 'reversed',
  CLOSED: 'reversed',
};

/**
 * Where BlueOcean documents its refunds, for each API generation an account can use:
 * - `wechat` (seed 000's generation): feizhan66/hk-api-documents (BlueOcean Pay HongKong Api documents,
 *   https://github.com/feizhan66/hk-api-documents, commit 3d9b38b9): README.md 2.2.2 Refund `/wechat/payment/refund`
 *   and 2.2.3 Refund query `/wechat/payment/refundquery` (wechat/api-request-params-examples.md uses the same path;
 *   the heading of wechat/payment-refundquery.md misspells it `/wechat/payments/refundquery`),
 *   wechat/payment-refund.md (申请退款), wechat/payment-refundquery.md (查询退款), wechat/response-code-list.md (返回码),
 *   wechat/order-reverse.md (撤销订单: "7天以内的交易单可调用撤销").
 * - `unified`: blueoceanpay/api-documents (https://github.com/blueoceanpay/api-documents, commit e8758092) zh_CN.md
 *   1.6 响应码说明, 2.2 退款 `/payment/refund`, 2.2.1 退款查询 `/order/refundquery`, 2.5 退款列表 (the refund states).
 * Both sign as every BlueOcean call does (1.2 参数签名, MD5 with the account's key, both ways).
 */
export const blueoceanRefundSource =
  'BlueOcean Pay: github.com/feizhan66/hk-api-documents@3d9b38b9 README.md 2.2.2-2.2.3, wechat/payment-refund.md, ' +
  'wechat/payment-refundquery.md, wechat/response-code-list.md, wechat/order-reverse.md; ' +
  'github.com/blueoceanpay/api-documents@e8758092 zh_CN.md 1.6, 2.2, 2.2.1, 2.5';

const day = 24 * 3600 * 1000;

/**
 * How a BlueOcean refund is followed (SPEC section 8). The first refund query 10 s after an accepted answer,
 * then 20 s, 1 min, 5 min, 20 min ("用零钱支付的退款20分钟内到账") and hourly after that: a refund to a bank card is
 * settled "3个工作日后" (wechat/payment-refundquery.md), so a refund is overdue (alarm, still followed) only after
 * five days, which three working days and a weekend take. No answer, or an answer that asks to call again: the
 * refund is sent again under the same refund number ("一笔退款失败后重新提交，请不要更换退款单号", payment-refund.md
 * 注意 2) after 5 s, 10 s, 30 s, 1 min, then every 5 min. BlueOcean carries WeChat's reverse window: 7 days
 * (order-reverse.md 注意); the unified document states none of its own.
 */
export const blueoceanRefundProtocol: RefundProtocol = {
  queryDelaysMs: [10_000, 20_000, 60_000, 300_000, 1_200_000, 3_600_000],
  resendDelaysMs: [5_000, 10_000, 30_000, 60_000, 300_000],
  overdueAfterMs: 5 * day,
  callDeadlineMs: 10_000,
  reverseUntil: (paidAt) => paidAt + 7 * day,
  source: blueoceanRefundSource,
};

/** One generation's refund calls. */
export interface BlueoceanRefundApi {
  readonly paths: { readonly refund: string; readonly refundQuery: string };
  /**
   * What the refund query names: `order` (`out_trade_no`; the answer lists the order's refunds with WeChat's
   * `_$n` fields) or `refund` (`customer_refund_no`, our refund number; the answer is that refund).
   */
  readonly queryBy: 'order' | 'refund';
  /** Whether the refund request carries the order's `total_fee` (required by the wechat generation). */
  readonly sendsTotalFee: boolean;
}

/** The refund calls of each API generation (`account.api`, as `blueoceanApis`). */
export const blueoceanRefundApis: Readonly<Record<string, BlueoceanRefundApi>> = {
  wechat: {
    paths: { refund: '/wechat/payment/refund', refundQuery: '/wechat/payment/refundquery' },
    queryBy: 'order',
    sendsTotalFee: true,
  },
  unified: {
    paths: { refund: '/payment/refund', refundQuery: '/order/refundquery' },
    queryBy: 'refund',
    sendsTotalFee: false,
  },
};

/**
 * How an error `code` answered to a refund is read (wechat/response-code-list.md 返回码; zh_CN.md 1.6 响应码说明).
 * `failed`: BlueOcean did not take the request (path, format, appid, parameters, signature, method, encoding) or
 * the order cannot be refunded (not found, closed, reversed, the merchant's balance is short (`40107`), past the
 * refund period): nothing was refunded, the amount may be refunded again. `query`: the refund may exist already
 * (the order is refunded, `40105`; the refund number was used, `493001`): the refund query decides. `retry`: busy,
 * unknown, upstream or WeChat errors (`40500`: "微信错误", its cause unnamed): nothing decided, the refund is sent
 * again under the same number. Codes not listed are `retry`: when in doubt, ask again rather than declare the
 * refund failed.
 */
export const refundCodeClass: Readonly<Record<string, 'failed' | 'query' | 'retry'>> = {
  '404': 'failed',
  '4001': 'failed',
  '4002': 'failed',
  '4003': 'failed',
  '4004': 'failed',
  '4007': 'failed',
  '40100': 'failed',
  '40102': 'failed',
  '40103': 'failed',
  '40104': 'failed',
  '40107': 'failed',
  '40108': 'failed',
  '40109': 'failed',
  '40110': 'failed',
  '490001': 'failed',
  '491001': 'failed',
  '491002': 'failed',
  '491003': 'failed',
  '492001': 'failed',
  '492002': 'failed',
  '492003': 'failed',
  '40105': 'query',
  '493001': 'query',
  '0': 'retry',
  '201': 'retry',
  '4005': 'retry',
  '4006': 'retry',
  '40400': 'retry',
  '40500': 'retry',
  '40600': 'retry',
  '492004': 'retry',
  '492005': 'retry',
  '499999': 'retry',
};

/**
 * Error codes a refund query answers when BlueOcean has no such refund: "订单不存在" (`40102`; the wechat generation
 * queries by order, which exists once paid, so it has no refund record) and "数据不存在" (`492002`, unified). Such a
 * verified answer is `absent`: the refund is sent again under the same number.
 */
export const refundNotFoundCodes: readonly string[] = ['40102', '492002'];

/**
 * How a refund's `refund_status` (`refund_status_$n`) is read: zh_CN.md 2.5 lists SUCCESS 退款成功, PROCESSING 退款
 * 处理中, REFUNDCLOSE 退款关闭, CHANGE 退款异常 (WeChat's own states, which the wechat generation relays). States not
 * listed decide nothing.
 */
export const refundStatusClass: Readonly<
  Record<string, { readonly kind: 'refunded' | 'processing' | 'failed' | 'abnormal'; readonly says: string }>
> = {
  SUCCESS: { kind: 'refunded', says: '退款成功' },
  PROCESSING: { kind: 'processing', says: '退款处理中' },
  REFUNDCLOSE: { kind: 'failed', says: '退款关闭' },
  CHANGE: { kind: 'abnormal', says: '退款异常' },
};
