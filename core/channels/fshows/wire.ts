import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { parseJsonExact } from '#core/money.ts';

/** Largest fshows answer read; a pay answer is under 2 KB. */
export const maxJsonBytes = 64 * 1024;

/**
 * The string fshows signs (the Alipay open-platform rule it is built on): every parameter but `sign` whose
 * value is not empty, sorted by name (ASCII), `name=value` joined with `&`.
 */
export function signingContent(params: Readonly<Record<string, string | undefined>>): string {
  return Object.keys(params)
    .filter((name) => name !== 'sign' && params[name] !== undefined && params[name] !== '')
    .sort()
    .map((name) => `${name}=${params[name]}`)
    .join('&');
}

/** SHA1withRSA over `content` (UTF-8) with a PEM private key, base64. Throws when the key is unusable. */
export function rsaSign(content: string, privateKeyPem: string): string {
  return sign('sha1', Buffer.from(content, 'utf8'), createPrivateKey(privateKeyPem)).toString('base64');
}

/** Whether `signature` (base64) is SHA1withRSA over `content` by the PEM public key's owner. */
export function rsaVerify(content: string, signature: string, publicKeyPem: string): boolean {
  try {
    const bytes = Buffer.from(signature, 'base64');
    return verify('sha1', Buffer.from(content, 'utf8'), createPublicKey(publicKeyPem), bytes);
  } catch {
    return false;
  }
}

/** A gateway request: the common parameters plus `content`, signed with the merchant's key, form-encoded. */
export function requestForm(
  params: {
    readonly app_id: string;
    readonly method: string;
    readonly version: string;
    readonly content: string;
  },
  privateKeyPem: string,
): string {
  const signed = { ...params, sign: rsaSign(signingContent(params), privateKeyPem) };
  return new URLSearchParams(signed).toString();
}

/** An fshows answer as read: its top-level members, parsed exactly and as the text they were sent in. */
export interface FshowsWire {
  /** Parsed exactly: JSON numbers are the text they were written in (`0.00140` stays `"0.00140"`). */
  readonly members: Readonly<Record<string, unknown>>;
  /** Each top-level member's value exactly as sent (what a signature over the answer covers). */
  readonly raw: Readonly<Record<string, string>>;
}

/**
 * Reads an answer strictly; undefined when it is not one JSON object of at most `maxJsonBytes`, or when any
 * object in it repeats a name (parsers disagree about which one counts, so such a document could mean one
 * thing to a signature and another to us).
 */
export function parseAnswer(text: string): FshowsWire | undefined {
  if (Buffer.byteLength(text, 'utf8') > maxJsonBytes) return undefined;
  let members: unknown;
  try {
    members = parseJsonExact(text);
  } catch {
    return undefined;
  }
  if (members === null || typeof members !== 'object' || Array.isArray(members)) return undefined;
  const raw = topLevelTexts(text);
  return raw ? { members: members as Record<string, unknown>, raw } : undefined;
}

/**
 * The string a signed answer's `sign` covers: the request rule applied to the answer's top-level members
 * (every one but `sign` and `sign_type` that is not empty or null), each value as the text it was sent in
 * (a string's content, an object's JSON text), so `return_value` is covered byte for byte. fshows does not
 * document whether it signs synchronous answers; this is the Alipay rule it builds on, and the sandbox's.
 */
export function answerSigningContent(wire: FshowsWire): string {
  return Object.keys(wire.raw)
    .filter((name) => name !== 'sign' && name !== 'sign_type')
    .filter((name) => {
      const value = wire.members[name];
      return value !== null && value !== '' && value !== undefined;
    })
    .sort()
    .map((name) => {
      const value = wire.members[name];
      return `${name}=${typeof value === 'string' && wire.raw[name]?.startsWith('"') ? value : wire.raw[name]}`;
    })
    .join('&');
}

/** The raw text of each top-level member of a JSON object already known to parse; undefined on a repeated name. */
function topLevelTexts(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const scanner = new Scanner(text);
  const ok = scanner.object((name, start, end) => {
    if (Object.hasOwn(out, name)) return false;
    out[name] = text.slice(start, end);
    return true;
  });
  return ok ? out : undefined;
}

/** Walks valid JSON text to find value boundaries, refusing repeated names in any object. */
class Scanner {
  private readonly text: string;
  private i = 0;

  constructor(text: string) {
    this.text = text;
  }

  /** Scans the top-level object, reporting each member; false when a name repeats (at any depth). */
  object(member?: (name: string, start: number, end: number) => boolean): boolean {
    this.space();
    this.i += 1; // {
    const names = new Set<string>();
    for (;;) {
      this.space();
      if (this.text[this.i] === '}') {
        this.i += 1;
        return true;
      }
      if (this.text[this.i] === ',') this.i += 1;
      this.space();
      const nameStart = this.i;
      this.string();
      const name = JSON.parse(this.text.slice(nameStart, this.i)) as string;
      if (names.has(name)) return false;
      names.add(name);
      this.space();
      this.i += 1; // :
      this.space();
      const start = this.i;
      if (!this.value()) return false;
      if (member && !member(name, start, this.i)) return false;
    }
  }

  private value(): boolean {
    const c = this.text[this.i];
    if (c === '{') return this.object();
    if (c === '[') {
      this.i += 1;
      for (;;) {
        this.space();
        if (this.text[this.i] === ']') {
          this.i += 1;
          return true;
        }
        if (this.text[this.i] === ',') this.i += 1;
        this.space();
        if (!this.value()) return false;
      }
    }
    if (c === '"') {
      this.string();
      return true;
    }
    while (this.i < this.text.length && !/[\s,\]}]/.test(this.text[this.i] as string)) this.i += 1;
    return true;
  }

  private string(): void {
    this.i += 1; // opening quote
    while (this.i < this.text.length && this.text[this.i] !== '"') {
      this.i += this.text[this.i] === '\\' ? 2 : 1;
    }
    this.i += 1; // closing quote
  }

  private space(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i] as string)) this.i += 1;
  }
}

const beijingOffsetMs = 8 * 3600 * 1000;

/** fshows' `time_end`, `yyyyMMddHHmmss` in Beijing time (as WeChat's) → epoch seconds; undefined when malformed. */
export function fromFshowsTime(text: string | undefined): number | undefined {
  const m = text?.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return (Date.UTC(y, mo - 1, d, h, mi, s) - beijingOffsetMs) / 1000;
}

/** Epoch seconds → `yyyyMMddHHmmss` in Beijing time. */
export function toFshowsTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000 + beijingOffsetMs).toISOString().replace(/\D/g, '').slice(0, 14);
}
