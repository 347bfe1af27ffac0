import type { ChannelAccount, ChannelCredentials } from '#core/channels/channel.ts';

export const payTypes = ['wechat.micro', 'alipay.micro'] as const;
export type PayType = (typeof payTypes)[number];

/** Merchant status as in the merchant documents: 0 active, 1 applied, 2 rejected, 3 disabled. */
export type MerchantStatus = 0 | 1 | 2 | 3;

/** How one pay type of a merchant is served. */
export interface PayTypeRoute {
  readonly channel: string;
  readonly account: ChannelAccount;
}

/** The merchant profile (stored in the merchants table; no secrets in it). */
export interface MerchantProfile {
  readonly merchant_id: string;
  readonly name?: string;
  readonly status: MerchantStatus;
  readonly pay_types: Readonly<Partial<Record<PayType, PayTypeRoute>>>;
}

/** The merchant's secret (one Secrets Manager secret per merchant). */
export interface MerchantSecret {
  /** Key the merchant signs API requests with, and we sign responses with. */
  readonly api_key: string;
  /** Per channel name, that channel's credentials for this merchant. */
  readonly channels: Readonly<Record<string, ChannelCredentials>>;
}

export interface Merchant extends MerchantProfile {
  readonly secret: MerchantSecret;
}
