import type { SettlementProtocol, TradeStateClass } from '#core/channels/channel.ts';

/**
 * WeChat Pay v2 micropay settlement (SPEC section 4, seed 004): first query 5 s after an open answer,
 * up to 6 queries 5 s apart, then reverse, never earlier than 15 s after pay, repeated with backoff while
 * WeChat answers `recall=Y` or does not answer.
 */
export const wechatProtocol: SettlementProtocol = {
  firstQueryDelayMs: 5_000,
  queryIntervalMs: 5_000,
  maxQueries: 6,
  reverseNotBeforeMs: 15_000,
  reverseRetryDelaysMs: [5_000, 10_000, 20_000, 30_000, 30_000],
  payDeadlineMs: 15_000,
  callDeadlineMs: 10_000,
};

/**
 * How a `result_code=FAIL` answer to micropay is read (seed 004's error table). `pending` means the
 * outcome is open and must be queried; `refused` is final. Codes not listed are read as pending: when in
 * doubt, ask the channel rather than declare money lost or taken.
 */
export const payErrorClass: Readonly<Record<string, 'pending' | 'refused'>> = {
  SYSTEMERROR: 'pending',
  BANKERROR: 'pending',
  USERPAYING: 'pending',
  // Our out_trade_no is unique per order, so "already paid" and "number already used" mean WeChat already
  // holds this very order: ask it what became of it.
  ORDERPAID: 'pending',
  OUT_TRADE_NO_USED: 'pending',
  NOAUTH: 'refused',
  AUTHCODEEXPIRE: 'refused',
  NOTENOUGH: 'refused',
  NOTSUPORTCARD: 'refused',
  ORDERCLOSED: 'refused',
  ORDERREVERSED: 'refused',
  AUTH_CODE_ERROR: 'refused',
  AUTH_CODE_INVALID: 'refused',
  XML_FORMAT_ERROR: 'refused',
  REQUIRE_POST_METHOD: 'refused',
  SIGNERROR: 'refused',
  LACK_PARAMS: 'refused',
  NOT_UTF8: 'refused',
  BUYER_MISMATCH: 'refused',
  APPID_NOT_EXIST: 'refused',
  MCHID_NOT_EXIST: 'refused',
  APPID_MCHID_NOT_MATCH: 'refused',
  PARAM_ERROR: 'refused',
};

/** How orderquery's `trade_state` is read. States not listed (and ORDERNOTEXIST) leave the outcome open. */
export const queryStateClass: Readonly<Record<string, TradeStateClass>> = {
  SUCCESS: 'paid',
  // Paid, then refunded separately: the payment itself succeeded, and the order notes the refund.
  REFUND: 'refunded',
  NOTPAY: 'pending',
  USERPAYING: 'pending',
  CLOSED: 'closed',
  REVOKED: 'reversed',
  PAYERROR: 'failed',
};
