import { createPrivateKey, createPublicKey } from 'node:crypto';
import type {
  ChannelAccount,
  ChannelCredentials,
  ChannelDescriptor,
  OrderField,
} from '#core/channels/channel.ts';
import { fshowsClient } from '#core/channels/fshows/client.ts';

const decimal = (name: string, what: string): OrderField => ({
  name,
  kind: 'decimal',
  comment: `${what}, yuan, exact decimal as the channel reported it (fshows)`,
});

/** fshows (付呗 liquidation platform, seed 003): WeChat barcode payments for a liquidator's sub-merchants, CNY. */
export const fshows: ChannelDescriptor = {
  name: 'fshows',
  title: 'fshows (付呗 liquidation)',
  payTypes: ['wechat.micro'],
  endpoint: { variable: 'FSHOWS_GATEWAY_URL', url: 'https://openapi-liquidation.51fubei.com/gateway' },
  validateSetup,
  // The fee breakdown finance reconciles the liquidator's statement with: exact decimal strings.
  orderFields: [
    decimal('liquidator_commission_fee', 'liquidator commission'),
    decimal('bank_commission_fee', 'bank commission'),
    decimal('pay_platform_fee', 'payment platform fee'),
    decimal('gateway_commission_fee', 'gateway commission'),
    decimal('net_money', 'net amount the merchant receives'),
    decimal('liquidator_commission_rate', 'liquidator commission rate (a fraction)'),
    decimal('bank_commission_rate', 'bank commission rate (a fraction)'),
    decimal('pay_platform_rate', 'payment platform rate (a fraction)'),
    decimal('gateway_commission_rate', 'gateway commission rate (a fraction)'),
  ],
  onboarding: {
    trigger: '--fshows-app-id',
    flags: [
      {
        flag: '--fshows-app-id <app_id>',
        description: 'fshows app_id (configures wechat.micro through the fshows liquidation platform)',
        into: 'account.app_id',
      },
      {
        flag: '--fshows-store-id <store_id>',
        description: 'the store fshows assigned the sub-merchant',
        into: 'account.store_id',
      },
      {
        flag: '--fshows-private-key <file>',
        description: 'RSA private key, PEM, that requests are signed with',
        into: 'credentials.private_key_pem',
        file: true,
      },
      {
        flag: '--fshows-platform-public-key <file>',
        description: "fshows' RSA public key, PEM: signed answers must verify with it",
        into: 'credentials.platform_public_key_pem',
        file: true,
      },
      {
        flag: '--fshows-sub-appid <appid>',
        description: 'extra official account appid added at fshows',
        into: 'account.sub_appid',
      },
      { flag: '--fshows-sub-mch-id <id>', description: 'WeChat sub-merchant id', into: 'account.sub_mch_id' },
    ],
  },
  sandbox: 'fshows',
  create: fshowsClient,
};

function validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
  const problems: string[] = [];
  if (!account.app_id) problems.push('fshows account needs app_id');
  if (!account.store_id)
    problems.push('fshows account needs store_id (the sub-merchant store fshows assigned)');
  if (account.currency !== undefined && account.currency !== 'CNY') {
    problems.push(`fshows pays in CNY, not ${account.currency}`);
  }
  if (!credentials.private_key_pem) {
    problems.push('fshows credentials need private_key_pem (the RSA key requests are signed with)');
  } else if (!isRsaKey(() => createPrivateKey(credentials.private_key_pem ?? ''))) {
    problems.push('fshows private_key_pem is not a readable RSA private key');
  }
  const publicKey = credentials.platform_public_key_pem;
  if (publicKey !== undefined && !isRsaKey(() => createPublicKey(publicKey))) {
    problems.push('fshows platform_public_key_pem is not a readable RSA public key');
  }
  return problems;
}

function isRsaKey(load: () => { asymmetricKeyType?: string }): boolean {
  try {
    return load().asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}
