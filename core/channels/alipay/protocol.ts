import type { RefundProtocol, SettlementProtocol } from '#core/channels/channel.ts';
import { fromUtc8, toUtc8 } from '#core/channels/kit/time.ts';

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

/*
 * Refunds (SPEC section 8). Alipay's own documents, as the tables below read them:
 * - 统一收单交易退款接口 alipay.trade.refund, https://opendocs.alipay.com/open/f60979b3_alipay.trade.refund
 *   (its 业务请求参数, 业务响应参数 and 业务错误码 sections);
 * - 统一收单交易退款查询 alipay.trade.fastpay.refund.query,
 *   https://opendocs.alipay.com/open/357441a2_alipay.trade.fastpay.refund.query (业务响应参数: refund_status;
 *   业务错误码);
 * - 退款成功判断指导, https://opendocs.alipay.com/support/01rawa (which answer proves a refund);
 * - 公共错误码, https://opendocs.alipay.com/common/02km9f (the gateway's `code`).
 */

/** Where Alipay documents its refund and refund query (the RefundProtocol's `source`). */
export const alipayRefundSource =
  '统一收单交易退款接口 alipay.trade.refund (https://opendocs.alipay.com/open/f60979b3_alipay.trade.refund) and ' +
  '统一收单交易退款查询 alipay.trade.fastpay.refund.query (https://opendocs.alipay.com/open/357441a2_alipay.trade.fastpay.refund.query)';

/** What a refund answer's class means for the refund: the RefundResult kinds a table may name. */
export type RefundAnswerClass = 'failed' | 'retry' | 'query';

/**
 * Alipay's gateway `code` of an answer to `alipay.trade.refund` or `alipay.trade.fastpay.refund.query` (公共错误码).
 * `10000`: the call succeeded; what it says about the refund is read from the node (`fund_change`, `refund_status`).
 * `20000` (服务不可用, "retry later"): Alipay answered but not about the refund: call again under the same number.
 * `20001`, `40001`, `40002`, `40006`: the gateway refused the request itself (token, missing or invalid arguments,
 * signature, permissions) before any refund existed: nothing was refunded. `40004`: the business answer, by
 * `sub_code`. A code not listed decides nothing.
 */
export const refundCodeClass: Readonly<Record<string, 'answered' | 'by_sub_code' | RefundAnswerClass>> = {
  '10000': 'answered',
  '20000': 'retry',
  '20001': 'failed',
  '40001': 'failed',
  '40002': 'failed',
  '40004': 'by_sub_code',
  '40006': 'failed',
};

/**
 * How a `40004` answer to `alipay.trade.refund` is read, by `sub_code`: every code of the document's 业务错误码
 * table, classed by its 解决方案. `retry`: call again under the same out_request_no — `ACQ.SYSTEM_ERROR` ("the
 * refund may or may not have succeeded: call again with the same parameters, the same refund number and amount;
 * Alipay answers a refund it already made as success"), `ACQ.REFUND_CHARGE_ERROR` ("retry after a while").
 * `query`: ask the refund query — `ACQ.DISCORDANT_REPEAT_REQUEST` ("the refund under this number already
 * succeeded with another amount … or get its result from the refund query"; our number and amount never change,
 * so only the query can say what became of it). `failed`: Alipay refused, nothing was refunded (top up and refund
 * again, fix the request, refund offline, or ask Alipay) — among them `ACQ.REASON_TRADE_REFUND_FEE_ERR` and
 * `ACQ.REFUND_AMT_NOT_EQUAL_TOTAL` (the amount), `ACQ.SELLER_BALANCE_NOT_ENOUGH` (the merchant's balance),
 * `ACQ.TRADE_NOT_EXIST`, `ACQ.TRADE_STATUS_ERROR` (not paid), `ACQ.TRADE_HAS_CLOSE`, `ACQ.TRADE_HAS_FINISHED`
 * (past the refund period), `ACQ.REASON_TRADE_BEEN_FREEZEN`, `ACQ.ONLINE_TRADE_VOUCHER_NOT_ALLOW_REFUND`. A
 * `sub_code` not listed decides nothing: the refund is sent again under the same number, which cannot refund twice.
 */
export const refundSubCodeClass: Readonly<Record<string, RefundAnswerClass>> = {
  'ACQ.SYSTEM_ERROR': 'retry',
  'ACQ.REFUND_CHARGE_ERROR': 'retry',
  'ACQ.DISCORDANT_REPEAT_REQUEST': 'query',
  'ACQ.ALLOC_AMOUNT_VALIDATE_ERROR': 'failed',
  'ACQ.BUYER_ENABLE_STATUS_FORBID': 'failed',
  'ACQ.BUYER_ERROR': 'failed',
  'ACQ.BUYER_NOT_EXIST': 'failed',
  'ACQ.CURRENCY_NOT_SUPPORT': 'failed',
  'ACQ.CUSTOMER_VALIDATE_ERROR': 'failed',
  'ACQ.ENTERPRISE_PAY_BIZ_ERROR': 'failed',
  'ACQ.INVALID_PARAMETER': 'failed',
  'ACQ.NOT_ALLOW_PARTIAL_REFUND': 'failed',
  'ACQ.ONLINE_TRADE_VOUCHER_NOT_ALLOW_REFUND': 'failed',
  'ACQ.OVERDRAFT_AGREEMENT_NOT_MATCH': 'failed',
  'ACQ.OVERDRAFT_ASSIGN_ACCOUNT_INVALID': 'failed',
  'ACQ.REASON_TRADE_BEEN_FREEZEN': 'failed',
  'ACQ.REASON_TRADE_REFUND_FEE_ERR': 'failed',
  'ACQ.REASON_TRADE_STATUS_INVALID': 'failed',
  'ACQ.REFUNDALLOC_UNAUTH_LIMIT': 'failed',
  'ACQ.REFUND_ACCOUNT_NOT_EXIST': 'failed',
  'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL': 'failed',
  'ACQ.REFUND_FEE_ERROR': 'failed',
  'ACQ.REFUND_ROYALTY_PAYEE_ACCOUNT_NOT_EXIST': 'failed',
  'ACQ.SELLER_BALANCE_NOT_ENOUGH': 'failed',
  'ACQ.TRADE_HAS_CLOSE': 'failed',
  'ACQ.TRADE_HAS_FINISHED': 'failed',
  'ACQ.TRADE_NOT_ALLOW_REFUND': 'failed',
  'ACQ.TRADE_NOT_EXIST': 'failed',
  'ACQ.TRADE_SETTLE_ERROR': 'failed',
  'ACQ.TRADE_STATUS_ERROR': 'failed',
  'ACQ.USER_NOT_MATCH_ERR': 'failed',
};

/**
 * How a `40004` answer to `alipay.trade.fastpay.refund.query` is read, by `sub_code` (its 业务错误码). `retry`:
 * `ACQ.SYSTEM_ERROR` ("query again"). `absent`: `ACQ.TRADE_NOT_EXIST` (older documents: `TRADE_NOT_EXIST`, "the
 * trade of the refund queried does not exist"): Alipay has no such trade, so no such refund; the refund is sent
 * again under the same number, and the refund call's own answer decides. `ACQ.INVALID_PARAMETER` and codes not
 * listed say nothing about the refund. A query never refuses a refund: only the refund call or a `refund_status`
 * does.
 */
export const refundQuerySubCodeClass: Readonly<Record<string, 'retry' | 'absent' | 'unknown'>> = {
  'ACQ.SYSTEM_ERROR': 'retry',
  'ACQ.TRADE_NOT_EXIST': 'absent',
  TRADE_NOT_EXIST: 'absent',
  'ACQ.INVALID_PARAMETER': 'unknown',
};

/**
 * `refund_status` of a `10000` answer to `alipay.trade.fastpay.refund.query`. `REFUND_SUCCESS` (退款处理成功) is
 * the one proof of a refund. `REFUND_PROCESSING` (退款处理中) is being processed; `REFUND_FAIL` (退款失败): nothing
 * was refunded (both as the document's SDK models name them, first for the asynchronous refund). No
 * `refund_status` means "the refund request was not received, or the refund failed; a query sent too soon after
 * the refund may not see a refund that succeeds later; if the refund did not succeed, call the refund again with
 * the same number and amount": an answer that states no refund (no `refund_amount`) is a refund Alipay does not
 * have (`absent`: sent again under the same number), one that states ours is still being processed (query again).
 */
export const refundStatusClass: Readonly<Record<string, 'refunded' | 'processing' | 'failed'>> = {
  REFUND_SUCCESS: 'refunded',
  REFUND_PROCESSING: 'processing',
  REFUND_FAIL: 'failed',
};

/**
 * Alipay refunds, followed as its documents say (SPEC section 8). `fund_change=Y` in the refund answer is a refund
 * made; anything else accepted is queried, the first query 10 s after ("query 10 s or more after the refund: a
 * query too soon may not see it"; after `ACQ.SYSTEM_ERROR`, "at least 5 s"), then backing off to hourly. A refund
 * not accepted (no answer, `ACQ.SYSTEM_ERROR`, `20000`) is sent again under the same out_request_no, never sooner
 * than 3 s after the last ("refunds of one trade at least 3 s apart"). Followed 72 hours before it alarms (a
 * refund to a bank card takes days), and still after. A paid trade is cancelled (`alipay.trade.cancel`) only on
 * the day it was paid (SPEC section 8): after the end of that day in UTC+8, /v1/reverse answers 302.
 */
export const alipayRefundProtocol: RefundProtocol = {
  queryDelaysMs: [10_000, 20_000, 60_000, 300_000, 1_800_000, 3_600_000],
  resendDelaysMs: [5_000, 10_000, 30_000, 60_000, 300_000],
  overdueAfterMs: 72 * 3600 * 1000,
  callDeadlineMs: 10_000,
  reverseUntil: endOfUtc8Day,
  source: alipayRefundSource,
};

/** The last millisecond of the UTC+8 calendar day `epochMs` falls in. */
export function endOfUtc8Day(epochMs: number): number {
  const day = toUtc8(epochMs, 'dashed').slice(0, 10);
  return (fromUtc8(`${day} 23:59:59`, 'dashed') as number) * 1000 + 999;
}
