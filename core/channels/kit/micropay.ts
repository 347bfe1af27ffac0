import type {
  PaymentDetails,
  QueryResult,
  SettlementProtocol,
  TradeStateClass,
} from '#core/channels/channel.ts';
import { type FinalStateClass, moneyMoved, queryResultOf } from '#core/channels/kit/answers.ts';
import type { Verification } from '#core/channels/verified.ts';

/*
 * WeChat Pay v2 micropay (seed 004), as every channel that carries its payments reads it: WeChat direct, and the
 * partners that relay WeChat's own words (fshows its err_codes and trade_state, BlueOcean its trade_state) and are
 * settled as WeChat is (SPEC section 4). One table each, here, so that no channel imports another's folder; the
 * names say `micropay` because no code outside a channel's folder may name a channel (test/unit/house.test.ts).
 */

/**
 * WeChat Pay v2 micropay settlement (SPEC section 4, seed 004): first query 5 s after an open answer, up to 6
 * queries 5 s apart, then reverse, never earlier than 15 s after pay, repeated with backoff while the channel
 * answers `recall=Y`, an error or nothing.
 */
export const micropaySettlement: SettlementProtocol = {
  firstQueryDelayMs: 5_000,
  queryIntervalMs: 5_000,
  maxQueries: 6,
  reverseNotBeforeMs: 15_000,
  reverseRetryDelaysMs: [5_000, 10_000, 20_000, 30_000, 30_000],
  payDeadlineMs: 15_000,
  callDeadlineMs: 10_000,
};

/**
 * How a `result_code=FAIL` answer to micropay is read, for the err_codes about the payment and its parameters
 * (seed 004's error table): the ones a channel relaying WeChat passes on as WeChat sent them. `pending` means the
 * outcome is open and must be queried; `refused` is final. Codes not listed are read as pending: when in doubt,
 * ask the channel rather than declare money lost or taken.
 */
export const micropayErrCodeClass: Readonly<Record<string, 'pending' | 'refused'>> = {
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
  BUYER_MISMATCH: 'refused',
  LACK_PARAMS: 'refused',
  PARAM_ERROR: 'refused',
};

/** How orderquery's `trade_state` is read. States not listed (and ORDERNOTEXIST) leave the outcome open. */
export const micropayTradeStateClass: Readonly<Record<string, TradeStateClass>> = {
  SUCCESS: 'paid',
  // Paid, then refunded separately: the payment itself succeeded, and the order notes the refund.
  REFUND: 'refunded',
  NOTPAY: 'pending',
  USERPAYING: 'pending',
  CLOSED: 'closed',
  REVOKED: 'reversed',
  PAYERROR: 'failed',
};

/**
 * A query answer's record of the order in WeChat's words, as a channel that relays them reads it: no record is
 * `MALFORMED`; its `trade_state` is read by `micropayTradeStateClass` (absent: `UNKNOWN`, open), and a final state
 * counts only once `verify` proves the answer about our order, stating our amount where the money moved.
 */
export function micropayQueryResult<A, R extends Readonly<Record<string, string>>>(
  record: R | undefined,
  verify: (required: readonly ('out_trade_no' | 'total_fee')[]) => Verification<A>,
  details: (record: R) => PaymentDetails,
): QueryResult {
  if (!record) return { kind: 'unknown', said: 'MALFORMED' };
  const state = record.trade_state || 'UNKNOWN';
  const prove = (stateClass: FinalStateClass) =>
    verify(moneyMoved(stateClass) ? ['out_trade_no', 'total_fee'] : ['out_trade_no']);
  return queryResultOf(state, micropayTradeStateClass, prove, {
    details: () => details(record),
    description: record.trade_state_desc || state,
  });
}
