import type { SettlementProtocol } from '#core/channels/channel.ts';

/**
 * Cancel retries, for `retry_flag=Y` or no answer. Alipay's guidance for a query or cancel that fails with a
 * timeout or a system error is to retry at once for about a minute, then hand the trade to a person: so the
 * retries start quickly and back off to 60 s in all (six cancels), after which the order alarms.
 */
const cancelRetryDelaysMs = [2_000, 4_000, 8_000, 16_000, 30_000];

/**
 * Alipay bar-code settlement as seed 002 and SPEC section 4 give it (the default): first query 5 s after an
 * open answer, up to 6 queries 5 s apart, then `alipay.trade.cancel`, repeated while Alipay answers
 * `retry_flag=Y` or does not answer. No reverse floor: Alipay documents none (WeChat's 15 s is WeChat's), and
 * its guidance is that the cancel follow the last query with no gap, so a payment cannot complete unseen.
 */
export const alipaySeedProtocol: SettlementProtocol = {
  firstQueryDelayMs: 5_000,
  queryIntervalMs: 5_000,
  maxQueries: 6,
  reverseNotBeforeMs: 0,
  reverseRetryDelaysMs: cancelRetryDelaysMs,
  payDeadlineMs: 15_000,
  callDeadlineMs: 10_000,
};

/**
 * Alipay's own current guidance for bar-code payments, for operators who choose it (`ALIPAY_PROTOCOL=guidance`):
 * poll every 3–6 s for about 60 s, then cancel at once. Here: first query 3 s after an open answer, then every
 * 5 s, none later than 60 s after pay was sent (12 queries when Alipay answers promptly).
 */
export const alipayGuidanceProtocol: SettlementProtocol = {
  firstQueryDelayMs: 3_000,
  queryIntervalMs: 5_000,
  maxQueries: 12,
  queryWindowMs: 60_000,
  reverseNotBeforeMs: 0,
  reverseRetryDelaysMs: cancelRetryDelaysMs,
  payDeadlineMs: 15_000,
  callDeadlineMs: 10_000,
};

/** The protocol tables an operator can choose between (`ALIPAY_PROTOCOL`); `seed` is the default. */
export const alipayProtocols = {
  seed: alipaySeedProtocol,
  guidance: alipayGuidanceProtocol,
} as const satisfies Record<string, SettlementProtocol>;

/** The name an operator chooses a table by (`ALIPAY_PROTOCOL`). */
export type AlipayProtocolName = keyof typeof alipayProtocols;

/** The names of the tables, for the configuration schema. */
export const alipayProtocolNames = Object.keys(alipayProtocols) as [
  AlipayProtocolName,
  ...AlipayProtocolName[],
];

/** What an answer's code means for money, before anything else is read. */
export type AnswerClass = 'paid' | 'pending' | 'refused' | 'by_sub_code';

/**
 * Alipay's gateway `code` of an answer to `alipay.trade.pay` (Alipay's public error codes and the bar-code
 * guidance). `10003`: the buyer is confirming (match on the code, never on `msg`). `20000`: service unavailable:
 * Alipay answered, but not about the payment, which must be queried (like WeChat's SYSTEMERROR: pending, so the
 * merchant is told 0 and `trade_state` 6, not 601, which means the channel did not answer in time). `20001`, `40001`, `40002`, `40006`: the gateway refused the request
 * itself (token, missing or invalid arguments, signature, permissions) before any trade existed. `40004`: the
 * business refused or failed; its `sub_code` decides. Codes not listed leave the outcome open.
 */
export const payCodeClass: Readonly<Record<string, AnswerClass>> = {
  '10000': 'paid',
  '10003': 'pending',
  '20000': 'pending',
  '20001': 'refused',
  '40001': 'refused',
  '40002': 'refused',
  '40004': 'by_sub_code',
  '40006': 'refused',
};

/**
 * How a `40004` answer to `alipay.trade.pay` is read, by `sub_code` (Alipay's error table for the call). `pending`
 * must be queried: `ACQ.SYSTEM_ERROR` (Alipay says query at once) and `ACQ.TRADE_HAS_SUCCESS` (our
 * `out_trade_no` is unique per order, so "already paid" is this very order: confirm it by query). `refused` is
 * final: no money moved. A `sub_code` not listed is pending: ask the channel before declaring money lost or taken.
 */
export const paySubCodeClass: Readonly<Record<string, 'pending' | 'refused'>> = {
  'ACQ.SYSTEM_ERROR': 'pending',
  'ACQ.TRADE_HAS_SUCCESS': 'pending',
  'ACQ.PAYMENT_AUTH_CODE_INVALID': 'refused',
  'ACQ.PAYMENT_FAIL': 'refused',
  'ACQ.PULL_MOBILE_CASHIER_FAIL': 'refused',
  'ACQ.BUYER_BALANCE_NOT_ENOUGH': 'refused',
  'ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH': 'refused',
  'ACQ.ERROR_BALANCE_PAYMENT_DISABLE': 'refused',
  'ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR': 'refused',
  'ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR': 'refused',
  'ACQ.PAYMENT_REQUEST_HAS_RISK': 'refused',
  'ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE': 'refused',
  'ACQ.BUYER_ENABLE_STATUS_FORBID': 'refused',
  'ACQ.INVALID_PARAMETER': 'refused',
  'ACQ.ACCESS_FORBIDDEN': 'refused',
  'ACQ.PARTNER_ERROR': 'refused',
  'ACQ.TOTAL_FEE_EXCEED': 'refused',
  'ACQ.SELLER_BEEN_BLOCKED': 'refused',
  'ACQ.TRADE_BUYER_NOT_MATCH': 'refused',
  'ACQ.BUYER_SELLER_EQUAL': 'refused',
  'ACQ.TRADE_HAS_CLOSE': 'refused',
  'ACQ.CONTEXT_INCONSISTENT': 'refused',
};

/**
 * How `trade_status` of a `10000` answer to `alipay.trade.query` is read. `TRADE_CLOSED` on a trade never seen
 * paid means the bar-code payment did not happen (the buyer gave up, or it timed out unpaid; a trade paid and then
 * refunded in full is also closed, and its money is back with the buyer): the order failed (trade_state 7, as
 * SPEC section 6 has it for the user who cancels). Statuses not listed, and every non-`10000` answer
 * (`ACQ.TRADE_NOT_EXIST`: the pay may not have landed yet; `ACQ.SYSTEM_ERROR`; `20000`), leave the outcome open:
 * the protocol ends in a cancel.
 */
export const queryStatusClass: Readonly<Record<string, 'paid' | 'failed' | 'pending'>> = {
  WAIT_BUYER_PAY: 'pending',
  TRADE_SUCCESS: 'paid',
  TRADE_FINISHED: 'paid',
  TRADE_CLOSED: 'failed',
};
