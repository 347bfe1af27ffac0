import { randomBytes } from 'node:crypto';

/**
 * A gateway trade id: 24 lower-case hex characters, 12 of milliseconds since the epoch then 12 random,
 * so ids sort by creation time and never collide in practice (48 random bits per millisecond).
 */
export function newTradeId(nowMs: number): string {
  return nowMs.toString(16).padStart(12, '0').slice(-12) + randomBytes(6).toString('hex');
}

/** A random string for channel requests (`nonce_str`): 32 hex characters. */
export function nonce(): string {
  return randomBytes(16).toString('hex');
}

/** Keeps the first and last four characters of a payment code; the rest becomes `*`. */
export function maskAuthCode(authCode: string): string {
  if (authCode.length <= 8) return '*'.repeat(authCode.length);
  return `${authCode.slice(0, 4)}${'*'.repeat(authCode.length - 8)}${authCode.slice(-4)}`;
}
