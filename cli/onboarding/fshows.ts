import { type ChannelOnboarding, defined, readKeyFile } from './onboarding.ts';

/** fshows (付呗 liquidation): the liquidator's app_id, the sub-merchant's store, and the RSA keys. */
export const fshowsOnboarding: ChannelOnboarding = {
  channel: 'fshows',
  payTypes: ['wechat.micro'],
  trigger: 'fshowsAppId',
  options: (command) =>
    command
      .option(
        '--fshows-app-id <app_id>',
        'fshows app_id (configures wechat.micro through the fshows liquidation platform)',
      )
      .option('--fshows-store-id <store_id>', 'the store fshows assigned the sub-merchant')
      .option('--fshows-private-key <file>', 'RSA private key, PEM, that requests are signed with')
      .option(
        '--fshows-platform-public-key <file>',
        "fshows' RSA public key, PEM: signed answers must verify with it",
      )
      .option('--fshows-sub-appid <appid>', 'extra official account appid added at fshows')
      .option('--fshows-sub-mch-id <id>', 'WeChat sub-merchant id'),
  setup: (opts) => ({
    account: defined({
      app_id: opts.fshowsAppId,
      store_id: opts.fshowsStoreId,
      sub_appid: opts.fshowsSubAppid,
      sub_mch_id: opts.fshowsSubMchId,
    }),
    credentials: defined({
      private_key_pem: readKeyFile('--fshows-private-key', opts.fshowsPrivateKey),
      platform_public_key_pem: readKeyFile('--fshows-platform-public-key', opts.fshowsPlatformPublicKey),
    }),
  }),
};
