import { blueoceanClient } from '#core/channels/blueocean/client.ts';
import { blueoceanApis, defaultBlueoceanApi } from '#core/channels/blueocean/protocol.ts';
import type { ChannelAccount, ChannelCredentials, ChannelDescriptor } from '#core/channels/channel.ts';

/**
 * BlueOcean Pay (seed 000): WeChat barcode payments for merchants in Hong Kong (and BlueOcean's AU, US and UK
 * regions: a stack there sets its regional host), in the account's currency.
 */
export const blueocean: ChannelDescriptor = {
  name: 'blueocean',
  title: 'BlueOcean Pay',
  payTypes: ['wechat.micro'],
  endpoint: { variable: 'BLUEOCEAN_BASE_URL', url: 'https://api.hk.blueoceanpay.com' },
  validateSetup,
  // WeChat's cash amount in CNY is kept as `cash_fee` with the common `cash_fee_type`.
  orderFields: [],
  onboarding: {
    trigger: '--blueocean-appid',
    flags: [
      {
        flag: '--blueocean-appid <appid>',
        description:
          'BlueOcean appid (configures wechat.micro through BlueOcean Pay, instead of WeChat direct)',
        into: 'account.appid',
      },
      {
        flag: '--blueocean-key <key>',
        description: 'the key BlueOcean issued for that appid',
        into: 'credentials.api_key',
      },
      {
        flag: '--blueocean-currency <code>',
        description: "the account's currency (payments must be in it)",
        into: 'account.currency',
        default: 'HKD',
      },
      {
        flag: '--blueocean-api <generation>',
        description: "BlueOcean's API generation the account uses",
        into: 'account.api',
        choices: Object.keys(blueoceanApis),
        default: defaultBlueoceanApi,
        implied: defaultBlueoceanApi,
      },
      {
        flag: '--blueocean-mp-appid <appid>',
        description: 'official account appid, to learn the payer openid',
        into: 'account.mp_appid',
      },
    ],
  },
  sandbox: 'blueocean',
  create: blueoceanClient,
};

function validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
  const problems: string[] = [];
  if (!account.appid) problems.push('blueocean account needs appid');
  if (account.api !== undefined && !blueoceanApis[account.api]) {
    problems.push(`blueocean api must be one of ${Object.keys(blueoceanApis).join(', ')}`);
  }
  if (!/^[A-Z]{3}$/.test(account.currency ?? '')) {
    problems.push('blueocean account needs its currency (ISO 4217, HKD in Hong Kong)');
  }
  if ((credentials.api_key ?? '').length < 16) {
    problems.push('blueocean credentials need the api_key BlueOcean issued (at least 16 characters)');
  }
  return problems;
}
