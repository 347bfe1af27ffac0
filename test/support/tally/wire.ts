import { createHmac, timingSafeEqual } from 'node:crypto';
import { signingString } from '#core/channels/kit/signing.ts';

/**
 * Tally Pay, a channel that exists only in these tests (docs/adding-a-channel.md): flat JSON both ways,
 * every field but `sign` signed with HMAC-SHA256 under the shop's key, hex in `sign`.
 */
export type TallyFields = Readonly<Record<string, string | number | undefined>>;

export function tallySign(fields: TallyFields, key: string): string {
  return createHmac('sha256', key).update(signingString(fields)).digest('hex');
}

export function tallyVerify(fields: TallyFields, key: string): boolean {
  const sign = fields.sign;
  if (typeof sign !== 'string' || !/^[0-9a-f]{64}$/.test(sign)) return false;
  return timingSafeEqual(Buffer.from(sign, 'hex'), Buffer.from(tallySign(fields, key), 'hex'));
}

/** A JSON object of strings and numbers, or undefined for anything else. */
export function parseTally(text: string): Record<string, string | number> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const members = Object.entries(value);
    return members.every(([, v]) => typeof v === 'string' || typeof v === 'number')
      ? Object.fromEntries(members as [string, string | number][])
      : undefined;
  } catch {
    return undefined;
  }
}
