import { createPrivateKey, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

/** Largest Alipay answer read; a bar-code answer is under 4 KB. */
export const maxAnswerBytes = 64 * 1024;

/** Request parameters as they go on the wire: strings, absent when undefined. */
export type WireParams = Record<string, string | undefined>;

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

export { memberSpans, type Span } from '#core/channels/kit/json.ts';
/**
 * Alipay's string to sign (OpenAPI v2, RSA2) is the kit's rule: every parameter but `sign` whose value is not
 * empty, sorted by name in ASCII order, `name=value` joined with `&`, values as they are (not URL-encoded).
 */
export { signingString } from '#core/channels/kit/signing.ts';
