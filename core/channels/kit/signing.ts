/** How `signingString` writes a channel's fields. */
export interface SigningRule {
  /** Names left out beside `sign` (BlueOcean's `key`, a `sign_type` some channels do not sign). */
  readonly without?: readonly string[];
  /** Empty values take part (BlueOcean's reference code); by default they, `null` and `undefined` do not. */
  readonly keepEmpty?: boolean;
  /** A value as written into the string; by default its text. */
  readonly write?: (value: unknown, name: string) => string;
}

/**
 * The string every channel here signs, and the merchant API too (WeChat Pay v2's rule, which Alipay's, BlueOcean's
 * and fshows' follow): the fields but `sign` (and `without`), empty ones left out unless `keepEmpty`, sorted by
 * name (ASCII), written `name=value` and joined with `&`. Each channel adds its own key or signature to it.
 */
export function signingString(fields: Readonly<Record<string, unknown>>, rule: SigningRule = {}): string {
  const write = rule.write ?? String;
  return Object.keys(fields)
    .filter((name) => name !== 'sign' && !rule.without?.includes(name))
    .filter((name) => {
      const value = fields[name];
      return value !== undefined && (rule.keepEmpty || (value !== null && value !== ''));
    })
    .sort()
    .map((name) => `${name}=${write(fields[name], name)}`)
    .join('&');
}
