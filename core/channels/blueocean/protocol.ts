import type { QuerySchedule, SettlementProtocol } from '#core/channels/channel.ts';

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
