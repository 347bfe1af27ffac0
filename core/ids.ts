import { createHash, randomUUID } from 'node:crypto';

/**
 * Which order a merchant's `mch_trade_id` names, as 16 hex characters: SHA-256 of the two, cut to 64 bits.
 * It is the stable part of the order's `trade_id` and of its key in the store, so an order is found by either
 * id with one consistent read and no index. Two ids of one merchant meet with odds of about n²/2⁶⁵
 * (n = that merchant's orders; 3·10⁻⁴ at 10⁸ orders); submit refuses the second with 102.
 */
export function orderHash(merchantId: string, mchTradeId: string): string {
  return createHash('sha256').update(`${merchantId}\n${mchTradeId}`).digest('hex').slice(0, 16);
}

/**
 * A gateway trade id: 24 lower-case hex characters, 8 of epoch seconds then the order's hash, so ids sort by
 * creation time and a retry of the same `mch_trade_id` names the same order whenever it comes.
 */
export function newTradeId(nowMs: number, merchantId: string, mchTradeId: string): string {
  const seconds = Math.floor(nowMs / 1000)
    .toString(16)
    .padStart(8, '0')
    .slice(-8);
  return seconds + orderHash(merchantId, mchTradeId);
}

/** The order hash a trade id carries; undefined when it is not one of ours. */
export function orderHashOfTradeId(tradeId: string): string | undefined {
  return /^[0-9a-f]{24}$/.test(tradeId) ? tradeId.slice(8) : undefined;
}

/** A random string for channel requests (`nonce_str`): 32 hex characters. */
export function nonce(): string {
  // A v4 UUID's 122 random bits from Node's entropy cache: one getrandom() call for many nonces, not one each.
  return randomUUID().replaceAll('-', '');
}

/** Keeps the first and last four characters of a payment code; the rest becomes `*`. */
export function maskAuthCode(authCode: string): string {
  if (authCode.length <= 8) return '*'.repeat(authCode.length);
  return `${authCode.slice(0, 4)}${'*'.repeat(authCode.length - 8)}${authCode.slice(-4)}`;
}

/** Which refund a merchant's `out_refund_no` names, as 16 hex characters (as `orderHash` for orders). */
export function refundHash(merchantId: string, outRefundNo: string): string {
  return createHash('sha256').update(`${merchantId}\nrefund\n${outRefundNo}`).digest('hex').slice(0, 16);
}

/** A gateway refund id: 8 hex of epoch seconds, then the refund number's hash (as a trade id is made). */
export function newRefundId(nowMs: number, merchantId: string, outRefundNo: string): string {
  return newTradeId(nowMs, merchantId, '').slice(0, 8) + refundHash(merchantId, outRefundNo);
}
