import { createHash, timingSafeEqual } from 'node:crypto';
import { exactJsonObject, isJsonObject } from '#core/channels/kit/json.ts';
import { signingString } from '#core/channels/kit/signing.ts';
import { fromUtc8 } from '#core/channels/kit/time.ts';

/** Largest BlueOcean answer read; a micropay answer is under 2 KB. */
export const maxJsonBytes = 64 * 1024;

/** A request's fields: strings, and integers where BlueOcean's documents say `Int` (`total_fee`). */
export type RequestFields = Readonly<Record<string, string | number | undefined>>;

/** What BlueOcean answers: `{code, message, data}`, read strictly. */
export interface BlueoceanAnswer {
  /** The answer code as text (`200`, `201`, `40400`, …), whether it was sent as a JSON number or a string. */
  readonly code: string;
  /** `message` (or `msg`, as the reverse document names it). */
  readonly message: string;
  /** `data` when it is an object: every value as text (JSON numbers as written, `null` as empty). */
  readonly data?: Readonly<Record<string, string>>;
  /**
   * Nothing but `code` and `message`/`msg` (and a `data` that is no object): BlueOcean's error form, which
   * carries no signature.
   */
  readonly bare: boolean;
}

/**
 * The string BlueOcean signs: `key=value` pairs sorted by name (ASCII), joined with `&`, then `&key=KEY`.
 * `withEmpty` decides whether empty values take part (see `verifyData`).
 */
function signingText(fields: Readonly<Record<string, string>>, key: string, withEmpty: boolean): string {
  return `${signingString(fields, { without: ['key'], keepEmpty: withEmpty })}&key=${key}`;
}

function md5Upper(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex').toUpperCase();
}

/** Signs a request: MD5 of the signing text, upper-case hex. We never send empty values, so both readings agree. */
export function signRequest(fields: RequestFields, key: string): string {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== '') present[name] = String(value);
  }
  return md5Upper(signingText(present, key, false));
}

/** A request as BlueOcean takes it: the fields without empty ones, signed, as a JSON body. */
export function requestBody(fields: RequestFields, key: string): string {
  const present = Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined && value !== ''),
  );
  return JSON.stringify({ ...present, sign: signRequest(present, key) });
}

/**
 * Checks `data.sign` with the merchant's key, in constant time. BlueOcean's signing rule is stated as sorted
 * `key=value` pairs; its published reference code (PHP `signData`) puts every field but `sign` in, empty ones
 * included, where WeChat's rule (which BlueOcean carries) leaves empty values out. Answers do carry empty
 * fields (`"attach": ""`), and only there do the two readings differ; either signature can only be made
 * with the merchant's key, so accepting both admits nothing that key did not sign.
 */
export function verifyData(data: Readonly<Record<string, string>>, key: string): boolean {
  const given = data.sign;
  if (given === undefined || key === '') return false;
  const actual = Buffer.from(given.toUpperCase(), 'utf8');
  return [true, false].some((withEmpty) => {
    const expected = Buffer.from(md5Upper(signingText(data, key, withEmpty)), 'utf8');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  });
}

/**
 * Reads a BlueOcean answer strictly; undefined when it is not one: more than `maxJsonBytes`, not JSON, not an
 * object, a `code` that is not digits, a message that is not text, or a `data` object with a value that is
 * not a string or number (nested structures, booleans: no BlueOcean answer has them, and a signature over
 * them would be guesswork).
 */
export function parseAnswer(text: string): BlueoceanAnswer | undefined {
  // Numbers stay the text they were written in: the signature covers that text, and amounts stay exact.
  const parsed = exactJsonObject(text, maxJsonBytes);
  if (!parsed) return undefined;
  const { code, message, msg, data } = parsed;
  if (typeof code !== 'string' || !/^\d{1,6}$/.test(code)) return undefined;
  const words = message ?? msg ?? '';
  if (typeof words !== 'string') return undefined;
  const extra = Object.keys(parsed).filter((name) => !['code', 'message', 'msg', 'data'].includes(name));
  if (!isJsonObject(data)) {
    const noData = data === undefined || data === null || typeof data === 'string' || isEmptyArray(data);
    return noData ? { code, message: words, bare: extra.length === 0 } : undefined;
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(data)) {
    if (value === null) fields[name] = '';
    else if (typeof value === 'string') fields[name] = value;
    else return undefined;
  }
  return { code, message: words, data: fields, bare: false };
}

function isEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}

/**
 * BlueOcean's `time_end` → epoch seconds; undefined when absent, zero or malformed. The seed's pay answer
 * writes `YYYYMMDDHHmmss`, its query `YYYY-MM-DD HH:mm:ss` (both Hong Kong time, UTC+8, as WeChat's), the
 * unified API epoch seconds.
 */
export function fromBlueoceanTime(text: string | undefined): number | undefined {
  if (text !== undefined && /^\d{10}$/.test(text)) return Number(text);
  return fromUtc8(text, 'compact') ?? fromUtc8(text, 'dashed');
}
