import {
  payCodeClass,
  reversedCode,
  reverseStateClass,
  successCode,
} from '#core/channels/blueocean/protocol.ts';
import {
  type BlueoceanAnswer,
  fromBlueoceanTime,
  parseAnswer,
  verifyData,
} from '#core/channels/blueocean/wire.ts';
import type { CommonPaymentDetails, PayResult, QueryResult, ReverseResult } from '#core/channels/channel.ts';
import { answerVerifier, digitsToInt, payErrorResult, stated } from '#core/channels/kit/answers.ts';
import { answerReader, type CallOutcome } from '#core/channels/kit/http.ts';
import { micropayQueryResult } from '#core/channels/kit/micropay.ts';

export type { CallOutcome } from '#core/channels/kit/http.ts';

/** What an answer must match to be about the request that was sent. */
export interface BlueoceanExpectation {
  /** The merchant's BlueOcean key, which signs both ways. */
  readonly key: string;
  readonly out_trade_no: string;
  /** In the smallest unit of the account's currency (HK cents). */
  readonly total_fee: number;
  /** The account's currency: an answer stating another `fee_type` is about another amount. */
  readonly currency: string;
  /**
   * Whether the channel talks to its host over `https://` (the server certificate is always verified): an
   * unsigned error answer can count only then.
   */
  readonly overTls: boolean;
}

const read = answerReader(parseAnswer);

/**
 * Proves an answer is BlueOcean's and about this order. An answer with `data` must carry `data.sign` that
 * verifies with the merchant's key, and every identifier and amount it states (`out_trade_no`, `total_fee`,
 * `fee_type`) must be ours; `required` names those it must state. BlueOcean's error form (`{code, message}`,
 * no data) is never signed: it counts only bare and over verified TLS from the configured host.
 */
const verifyBlueocean = answerVerifier<BlueoceanAnswer, BlueoceanExpectation, 'out_trade_no' | 'total_fee'>({
  authenticity: (a, expected) => {
    if (!a.data) {
      if (!a.bare) return { unproven: 'UNSIGNED_WITH_EXTRA_FIELDS' };
      return expected.overTls ? 'transport' : { unproven: 'UNSIGNED_WITHOUT_TLS' };
    }
    if (a.data.sign === undefined) return { unproven: 'UNSIGNED' };
    return verifyData(a.data, expected.key) ? 'signature' : { unproven: 'BAD_SIGNATURE' };
  },
  about: (a, expected) => {
    if (!a.data) return undefined;
    const ours = {
      out_trade_no: expected.out_trade_no,
      total_fee: String(expected.total_fee),
      fee_type: expected.currency,
    };
    return { stated: a.data, ours };
  },
});

/** Reads BlueOcean's answer to micropay (seed 000 提醒1 and the 返回码 table). */
export function readPayAnswer(outcome: CallOutcome, expected: BlueoceanExpectation): PayResult {
  return read(outcome, (a) => {
    if (a.code === successCode) {
      const data = a.data;
      if (!data) return { kind: 'unknown', said: 'MALFORMED' };
      // The unified API answers 200 with the order's state: anything but SUCCESS is still being paid. The seed's
      // pay answer has no trade_state: its 200 carries the paid order (transaction_id, out_trade_no, total_fee…).
      const state = data.trade_state || undefined;
      if (state !== undefined && state !== 'SUCCESS') return { kind: 'pending', said: state };
      if (state === undefined && !data.transaction_id) return { kind: 'pending', said: successCode };
      const checked = verifyBlueocean(a, expected, ['out_trade_no', 'total_fee']);
      if (!checked.ok) return { kind: 'unknown', said: checked.reason };
      return { kind: 'paid', details: paymentDetails(data), said: 'SUCCESS', proof: checked.verified };
    }
    return payErrorResult(a.code, a.message || a.code, payCodeClass, () => verifyBlueocean(a, expected, []));
  });
}

/** Reads BlueOcean's answer to an order query; only a verified answer about this order decides anything. */
export function readQueryAnswer(outcome: CallOutcome, expected: BlueoceanExpectation): QueryResult {
  return read(outcome, (a) =>
    // 40102 (not found: the pay may not have landed yet), busy, errors: the outcome is still open.
    a.code === successCode
      ? micropayQueryResult(a.data, (required) => verifyBlueocean(a, expected, required), paymentDetails)
      : { kind: 'pending', said: a.code },
  );
}

/**
 * Reads BlueOcean's answer to reverse: a verified `200` is a reverse that happened when it says `recall=N`, or
 * when it returns the order (as its API document shows) in a reversed or closed `trade_state`, which must then
 * be our order; `recall=Y` means call again, and "already reversed" (`40104`, bare, over TLS) means an earlier
 * one did. Errors, silence and any other state are not a reverse: the protocol calls again with backoff.
 */
export function readReverseAnswer(outcome: CallOutcome, expected: BlueoceanExpectation): ReverseResult {
  return read(outcome, (a) => {
    if (a.code === reversedCode) {
      const checked = verifyBlueocean(a, expected, []);
      if (!checked.ok) return { kind: 'unknown', said: checked.reason };
      return { kind: 'reversed', said: reversedCode, proof: checked.verified };
    }
    if (a.code !== successCode) return { kind: 'unknown', said: a.code };
    const data = a.data;
    if (!data) return { kind: 'unknown', said: 'MALFORMED' };
    const state = data.trade_state || undefined;
    const checked = verifyBlueocean(a, expected, state === undefined ? [] : ['out_trade_no']);
    if (!checked.ok) return { kind: 'unknown', said: checked.reason };
    if (data.recall === 'Y') return { kind: 'retry', said: 'recall=Y' };
    if (state !== undefined) {
      const reversed = reverseStateClass[state] === 'reversed';
      return reversed
        ? { kind: 'reversed', said: state, proof: checked.verified }
        : { kind: 'unknown', said: state };
    }
    if (data.recall === 'N') return { kind: 'reversed', said: 'SUCCESS', proof: checked.verified };
    return { kind: 'unknown', said: 'MALFORMED' };
  });
}

const text = (value: string | undefined) => (value === '' ? undefined : value);

/**
 * What a paid answer reports, leaving out what it does not state: an absent field must not erase what the
 * order already holds (its `fee_type` is the route's currency).
 */
function paymentDetails(data: Readonly<Record<string, string>>): CommonPaymentDetails {
  // WeChat charges the shopper in its own currency (cash_fee_type, CNY by default), so cash_fee is kept
  // only together with the currency BlueOcean says it is in.
  const cashFeeType = text(data.cash_fee_type);
  return stated({
    // BlueOcean's order number (`sn`) is the channel's id; WeChat's `transaction_id` the payment method's.
    ch_trade_id: text(data.sn),
    out_trade_id: text(data.transaction_id),
    fee_type: text(data.fee_type),
    cash_fee: cashFeeType ? digitsToInt(data.cash_fee) : undefined,
    cash_fee_type: cashFeeType,
    bank_type: text(data.bank_type),
    openid: text(data.openid),
    is_subscribe: text(data.is_subscribe),
    time_end: fromBlueoceanTime(text(data.time_end)),
  });
}
