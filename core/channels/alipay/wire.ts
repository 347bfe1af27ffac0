import { createPrivateKey, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

/** Largest Alipay answer read; a bar-code answer is under 4 KB. */
export const maxAnswerBytes = 64 * 1024;

/** Request parameters as they go on the wire: strings, absent when undefined. */
export type WireParams = Record<string, string | undefined>;

/**
 * Alipay's string to sign (OpenAPI v2, RSA2): every parameter but `sign` whose value is not empty, sorted by
 * name in ASCII order, `name=value` joined with `&`, values as they are (not URL-encoded).
 */
export function signingString(params: Readonly<WireParams>): string {
  return Object.keys(params)
    .filter((name) => name !== 'sign' && params[name] !== undefined && params[name] !== '')
    .sort()
    .map((name) => `${name}=${params[name]}`)
    .join('&');
}

/** RSA2: SHA256withRSA over `content` (UTF-8), base64. */
export function rsa2Sign(content: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKey, 'base64');
}

/** Whether `signature` (base64) is an RSA2 signature of `content` (UTF-8) under `publicKey`. */
export function rsa2Verify(content: string, signature: string, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

/** The parameters as an `application/x-www-form-urlencoded` body (UTF-8), without the empty ones. */
export function toForm(params: Readonly<WireParams>): string {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') form.append(name, value);
  }
  return form.toString();
}

/**
 * An RSA key as merchants hold it: PEM (`PRIVATE KEY` PKCS#8, `RSA PRIVATE KEY` PKCS#1, `PUBLIC KEY`), or the bare
 * base64 body Alipay's console and key tool show. Undefined when it is none of these or not RSA.
 */
export function readPrivateKey(text: string | undefined): KeyObject | undefined {
  return readKey(
    text,
    (der) => {
      try {
        return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      } catch {
        return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
      }
    },
    createPrivateKey,
  );
}

/** Alipay's (or the app's) public key, PEM or bare base64 (`SubjectPublicKeyInfo`); undefined when unreadable. */
export function readPublicKey(text: string | undefined): KeyObject | undefined {
  return readKey(text, (der) => createPublicKey({ key: der, format: 'der', type: 'spki' }), createPublicKey);
}

function readKey(
  text: string | undefined,
  fromDer: (der: Buffer) => KeyObject,
  fromPem: (pem: string) => KeyObject,
): KeyObject | undefined {
  if (!text) return undefined;
  try {
    const trimmed = text.trim();
    const key = trimmed.startsWith('-----BEGIN')
      ? fromPem(trimmed)
      : fromDer(Buffer.from(trimmed.replace(/\s+/g, ''), 'base64'));
    return key.asymmetricKeyType === 'rsa' ? key : undefined;
  } catch {
    return undefined;
  }
}

const beijingOffsetMs = 8 * 3600 * 1000;
const timePattern = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Epoch milliseconds → Alipay's `yyyy-MM-dd HH:mm:ss` in Beijing time (Asia/Shanghai, UTC+8 all year). */
export function toAlipayTime(epochMs: number): string {
  return new Date(epochMs + beijingOffsetMs).toISOString().slice(0, 19).replace('T', ' ');
}

/** Alipay's `yyyy-MM-dd HH:mm:ss` (Beijing time) → epoch seconds; undefined when malformed. */
export function fromAlipayTime(text: string | undefined): number | undefined {
  const m = text === undefined ? null : timePattern.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not exist is malformed.
  if (toAlipayTime(utc - beijingOffsetMs) !== text) return undefined;
  return (utc - beijingOffsetMs) / 1000;
}

/** Where a member's value sits in the text it was read from: `text.slice(start, end)` is it, byte for byte. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * The members of the JSON object that is `text`, each with the span of its value as written. Alipay signs a
 * response node as the bytes it sent, so the signature must be checked over exactly these characters, never over
 * a re-serialization. Undefined when `text` is not one well-formed JSON object or names a member twice (two
 * copies of a node would let what is verified differ from what is read).
 */
export function memberSpans(text: string): Map<string, Span> | undefined {
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  // Well-formed JSON from here on: the scan only has to find where each top-level value starts and ends.
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipSpace(text, i + 1);
  const spans = new Map<string, Span>();
  if (text[i] === '}') return spans;
  for (;;) {
    const keyEnd = stringEnd(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    if (spans.has(name)) return undefined;
    i = skipSpace(text, skipSpace(text, keyEnd) + 1); // past the ':'
    const end = valueEnd(text, i);
    spans.set(name, { start: i, end });
    i = skipSpace(text, end);
    if (text[i] === '}') return spans;
    i = skipSpace(text, i + 1); // past the ','
  }
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i += 1;
  return i;
}

/** The index just past the JSON string that starts (with its quote) at `from`. */
function stringEnd(text: string, from: number): number {
  let i = from + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** The index just past the JSON value that starts at `from` (objects and arrays by depth, without recursion). */
function valueEnd(text: string, from: number): number {
  const first = text[from];
  if (first === '"') return stringEnd(text, from);
  if (first !== '{' && first !== '[') {
    let i = from;
    while (i < text.length && !',}] \t\n\r'.includes(text[i] as string)) i += 1;
    return i;
  }
  let depth = 0;
  let i = from;
  do {
    const c = text[i];
    if (c === '"') {
      i = stringEnd(text, i);
      continue;
    }
    if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') depth -= 1;
    i += 1;
  } while (depth > 0);
  return i;
}
