import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { signingString } from '#core/channels/kit/signing.ts';

export type SignType = 'MD5' | 'HMAC-SHA256';

/** Parses a client-supplied `sign_type` (case-insensitive, MD5 when absent); undefined when unsupported. */
export function parseSignType(value: unknown): SignType | undefined {
  if (value === undefined || value === null || value === '') return 'MD5';
  if (typeof value !== 'string') return undefined;
  const upper = value.toUpperCase();
  return upper === 'MD5' || upper === 'HMAC-SHA256' ? upper : undefined;
}

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

function asSignValue(value: unknown): string {
  return typeof value === 'object' ? sortedJson(value) : String(value);
}

/**
 * The WeChat Pay v2 string-to-sign (the merchant API's too): every field but `sign` whose value is not empty or
 * null, objects as key-sorted JSON, sorted by name in ASCII order, joined `name=value` with `&`.
 */
export function canonicalString(fields: Readonly<Record<string, unknown>>): string {
  return signingString(fields, { write: asSignValue });
}

/** Signs `fields` with `key` (MD5 or HMAC-SHA256 over `canonical&key=KEY`), upper-case hex. */
export function sign(
  fields: Readonly<Record<string, unknown>>,
  key: string,
  signType: SignType = 'MD5',
): string {
  const text = `${canonicalString(fields)}&key=${key}`;
  const digest =
    signType === 'MD5'
      ? createHash('md5').update(text, 'utf8').digest('hex')
      : createHmac('sha256', key).update(text, 'utf8').digest('hex');
  return digest.toUpperCase();
}

/** Constant-time check of `fields.sign` (compared case-insensitively, as hex). */
export function verify(
  fields: Readonly<Record<string, unknown>>,
  key: string,
  signType: SignType = 'MD5',
): boolean {
  const given = fields.sign;
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(sign(fields, key, signType), 'utf8');
  const actual = Buffer.from(given.toUpperCase(), 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
