import type { MerchantProfile, MerchantSecret } from '#core/merchants.ts';

/** The sandbox WeChat channel account every local merchant uses (SPEC section 6). */
export const sandboxWechat = {
  account: { appid: 'wx2421b1c4370ec43b', mch_id: '1900000109' },
  credentials: { api_key: 'sandboxwechatkey0123456789abcdef' },
} as const;

/** The sandbox BlueOcean account (Hong Kong, HKD) of M100000004. */
export const sandboxBlueocean = {
  account: { appid: '1000258', currency: 'HKD' },
  credentials: { api_key: 'sandboxblueoceankey0123456789abc' },
} as const;

/** The sandbox fshows account of M100000005; its RSA key pairs are made per run by the fshows sandbox starter. */
export const sandboxFshows = {
  account: { app_id: '2016072300007148', store_id: '20170720205421027980' },
} as const;

/**
 * The sandbox Alipay application M100000001's alipay.micro uses. Its key pair and the sandbox's public key are
 * made per run by its sandbox starter (`sandbox/alipay.ts`) and added to the merchant's secret.
 */
export const sandboxAlipay = {
  account: { app_id: '2021000000000001', seller_id: '2088000000000001' },
} as const;

const wechatRoute = { channel: 'wechat', account: sandboxWechat.account };
const alipayRoute = { channel: 'alipay', account: sandboxAlipay.account };
const channels = { wechat: sandboxWechat.credentials };

/**
 * The merchants local mode always has (SPEC section 6). Credentials made per run (WeChat's API client
 * certificate from the stack's test CA, key pairs) are added by the local stack from its running sandboxes.
 */
export const sandboxMerchants: ReadonlyArray<{ profile: MerchantProfile; secret: MerchantSecret }> = [
  {
    profile: {
      merchant_id: 'M100000001',
      name: 'Sandbox merchant',
      status: 0,
      pay_types: { 'wechat.micro': wechatRoute, 'alipay.micro': alipayRoute },
    },
    secret: { api_key: 'sandbox-key-0123456789abcdef0123', channels },
  },
  {
    profile: {
      merchant_id: 'M100000002',
      name: 'Sandbox disabled merchant',
      status: 3,
      pay_types: { 'wechat.micro': wechatRoute },
    },
    secret: { api_key: 'sandbox-key-disabled-000000000000', channels },
  },
  {
    profile: {
      merchant_id: 'M100000003',
      name: 'Sandbox WeChat-only merchant',
      status: 0,
      pay_types: { 'wechat.micro': wechatRoute },
    },
    secret: { api_key: 'sandbox-key-wechat-only-000000000', channels },
  },
  {
    profile: {
      merchant_id: 'M100000004',
      name: 'Sandbox Hong Kong merchant (BlueOcean, HKD)',
      status: 0,
      pay_types: { 'wechat.micro': { channel: 'blueocean', account: sandboxBlueocean.account } },
    },
    secret: {
      api_key: 'sandbox-key-blueocean-hkd-000000',
      channels: { blueocean: sandboxBlueocean.credentials },
    },
  },
  {
    profile: {
      merchant_id: 'M100000005',
      name: 'Sandbox fshows sub-merchant (CNY)',
      status: 0,
      pay_types: { 'wechat.micro': { channel: 'fshows', account: sandboxFshows.account } },
    },
    secret: { api_key: 'sandbox-key-fshows-0000000000000', channels: {} },
  },
];
