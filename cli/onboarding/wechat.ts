import { Option } from 'commander';
import { type ChannelOnboarding, defined, readKeyFile } from './onboarding.ts';

/** WeChat Pay v2, direct: appid, mch_id, API key and the API client certificate (reverse needs it). */
export const wechatOnboarding: ChannelOnboarding = {
  channel: 'wechat',
  payTypes: ['wechat.micro'],
  trigger: 'wechatMchId',
  options: (command) =>
    command
      .option('--wechat-appid <appid>', 'WeChat appid')
      .option('--wechat-mch-id <mch_id>', 'WeChat mch_id (configures WeChat Pay direct for wechat.micro)')
      .option('--wechat-sub-appid <appid>', 'WeChat sub_appid (service-provider mode)')
      .option('--wechat-sub-mch-id <id>', 'WeChat sub_mch_id (service-provider mode)')
      .option('--wechat-key <key>', 'WeChat API key (32 characters)')
      .option(
        '--wechat-cert <file>',
        'WeChat API client certificate, PEM (apiclient_cert.pem): reverse needs it',
      )
      .option('--wechat-cert-key <file>', 'its private key, PEM (apiclient_key.pem)')
      .addOption(
        new Option('--wechat-sign-type <type>', 'how requests to WeChat are signed')
          .choices(['MD5', 'HMAC-SHA256'])
          .default('MD5'),
      ),
  setup: (opts) => ({
    account: defined({
      appid: opts.wechatAppid,
      mch_id: opts.wechatMchId,
      sub_appid: opts.wechatSubAppid,
      sub_mch_id: opts.wechatSubMchId,
      sign_type: opts.wechatSignType === 'MD5' ? undefined : opts.wechatSignType,
    }),
    credentials: defined({
      api_key: opts.wechatKey,
      cert_pem: readKeyFile('--wechat-cert', opts.wechatCert),
      key_pem: readKeyFile('--wechat-cert-key', opts.wechatCertKey),
    }),
  }),
};
