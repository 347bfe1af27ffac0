import { Option } from 'commander';
import { blueoceanApis, defaultBlueoceanApi } from '#core/channels/blueocean/protocol.ts';
import { type ChannelOnboarding, defined } from './onboarding.ts';

/** BlueOcean Pay (Hong Kong and its other regions): appid, key, the account's currency and API generation. */
export const blueoceanOnboarding: ChannelOnboarding = {
  channel: 'blueocean',
  payTypes: ['wechat.micro'],
  trigger: 'blueoceanAppid',
  options: (command) =>
    command
      .option(
        '--blueocean-appid <appid>',
        'BlueOcean appid (configures wechat.micro through BlueOcean Pay, instead of WeChat direct)',
      )
      .option('--blueocean-key <key>', 'the key BlueOcean issued for that appid')
      .option('--blueocean-currency <code>', "the account's currency (payments must be in it)", 'HKD')
      .addOption(
        new Option('--blueocean-api <generation>', "BlueOcean's API generation the account uses")
          .choices(Object.keys(blueoceanApis))
          .default(defaultBlueoceanApi),
      )
      .option('--blueocean-mp-appid <appid>', 'official account appid, to learn the payer openid'),
  setup: (opts) => ({
    account: defined({
      appid: opts.blueoceanAppid,
      currency: opts.blueoceanCurrency,
      api: opts.blueoceanApi === defaultBlueoceanApi ? undefined : opts.blueoceanApi,
      mp_appid: opts.blueoceanMpAppid,
    }),
    credentials: defined({ api_key: opts.blueoceanKey }),
  }),
};
