import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { exactJsonObject, memberSpans } from '#core/channels/kit/json.ts';
import { signingString } from '#core/channels/kit/signing.ts';

/** Largest fshows answer read; a pay answer is under 2 KB. */
export const maxJsonBytes = 64 * 1024;

/**
 * The string fshows signs (the Alipay open-platform rule it is built on): every parameter but `sign` whose
 * value is not empty, sorted by name (ASCII), `name=value` joined with `&`.
 */
export function signingContent(params: Readonly<Record<string, string | undefined>>): string {
  return signingString(params);
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
  const members = exactJsonObject(text, maxJsonBytes);
  if (!members) return undefined;
  const spans = memberSpans(text);
  if (!spans) return undefined;
  const raw = Object.fromEntries([...spans].map(([name, span]) => [name, text.slice(span.start, span.end)]));
  return { members, raw };
}

/**
 * The string a signed answer's `sign` covers: the request rule applied to the answer's top-level members
 * (every one but `sign` and `sign_type` that is not empty or null), each value as the text it was sent in
 * (a string's content, an object's JSON text), so `return_value` is covered byte for byte. fshows does not
 * document whether it signs synchronous answers; this is the Alipay rule it builds on, and the sandbox's.
 */
export function answerSigningContent(wire: FshowsWire): string {
  const sent = Object.fromEntries(Object.keys(wire.raw).map((name) => [name, wire.members[name]]));
  return signingString(sent, {
    without: ['sign_type'],
    // A string member as its content; anything else (return_value) as the exact text sent.
    write: (value, name) =>
      typeof value === 'string' && wire.raw[name]?.startsWith('"') ? value : (wire.raw[name] ?? ''),
  });
}
