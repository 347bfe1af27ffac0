import { authCodeRules } from '#core/api/requests.ts';
import type { PayType } from '#core/merchants.ts';

/**
 * The pay type a payment code belongs to, by its prefix as the wallets issue them (SPEC section 2: WeChat 10–15,
 * Alipay 25–30, with each one's length); undefined when it fits none, and `--pay-type` must say.
 */
export function payTypeOf(authCode: string): PayType | undefined {
  const found = Object.entries(authCodeRules).find(([, rule]) => rule.pattern.test(authCode));
  return found?.[0] as PayType | undefined;
}
