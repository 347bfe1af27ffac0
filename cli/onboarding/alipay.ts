import { type ChannelOnboarding, defined, readKeyFile } from './onboarding.ts';

/**
 * Alipay open platform (当面付): the app's `app_id`, optional seller id, the app's RSA private key and Alipay's
 * public key for the app, as files (PEM, or the bare base64 Alipay's key tool and console show).
 */
export const alipayOnboarding: ChannelOnboarding = {
  channel: 'alipay',
  payTypes: ['alipay.micro'],
  trigger: 'alipayAppId',
  options: (command) =>
    command
      .option(
        '--alipay-app-id <app_id>',
        'Alipay app_id (configures the Alipay open platform for alipay.micro)',
      )
      .option('--alipay-seller-id <id>', "Alipay seller id (2088…; default: the app's own account)")
      .option('--alipay-private-key <file>', "the app's RSA2 private key, PEM (PKCS#8 or PKCS#1)")
      .option('--alipay-public-key <file>', "Alipay's public key for the app (支付宝公钥), PEM")
      .option(
        '--alipay-app-public-key <file>',
        "the app's public key as uploaded to Alipay: checked to match the private key",
      )
      .option('--alipay-app-auth-token <token>', 'app_auth_token (service-provider mode)'),
  setup: (opts) => ({
    account: defined({ app_id: opts.alipayAppId, seller_id: opts.alipaySellerId }),
    credentials: defined({
      app_private_key_pem: readKeyFile('--alipay-private-key', opts.alipayPrivateKey),
      alipay_public_key_pem: readKeyFile('--alipay-public-key', opts.alipayPublicKey),
      app_public_key_pem: readKeyFile('--alipay-app-public-key', opts.alipayAppPublicKey),
      app_auth_token: opts.alipayAppAuthToken,
    }),
  }),
};
