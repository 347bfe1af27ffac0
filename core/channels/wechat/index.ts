import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { ChannelAccount, ChannelCredentials, ChannelDescriptor } from '#core/channels/channel.ts';
import { wechatClient } from '#core/channels/wechat/client.ts';
import { parseSignType } from '#core/signing.ts';

/** WeChat Pay v2, direct (seed 004): a merchant's own WeChat Pay account, paid in CNY. */
export const wechat: ChannelDescriptor = {
  name: 'wechat',
  title: 'WeChat Pay v2',
  payTypes: ['wechat.micro'],
  endpoint: { variable: 'WECHAT_BASE_URL', url: 'https://api.mch.weixin.qq.com' },
  validateSetup,
  // Its payment fields are the common ones (SPEC section 2 takes them from WeChat's).
  orderFields: [],
  onboarding: {
    trigger: '--wechat-mch-id',
    flags: [
      { flag: '--wechat-appid <appid>', description: 'WeChat appid', into: 'account.appid' },
      {
        flag: '--wechat-mch-id <mch_id>',
        description: 'WeChat mch_id (configures WeChat Pay direct for wechat.micro)',
        into: 'account.mch_id',
      },
      {
        flag: '--wechat-sub-appid <appid>',
        description: 'WeChat sub_appid (service-provider mode)',
        into: 'account.sub_appid',
      },
      {
        flag: '--wechat-sub-mch-id <id>',
        description: 'WeChat sub_mch_id (service-provider mode)',
        into: 'account.sub_mch_id',
      },
      {
        flag: '--wechat-key <key>',
        description: 'WeChat API key (32 characters)',
        into: 'credentials.api_key',
      },
      {
        flag: '--wechat-cert <file>',
        description: 'WeChat API client certificate, PEM (apiclient_cert.pem): reverse and refund need it',
        into: 'credentials.cert_pem',
        file: true,
      },
      {
        flag: '--wechat-cert-key <file>',
        description: 'its private key, PEM (apiclient_key.pem)',
        into: 'credentials.key_pem',
        file: true,
      },
      {
        flag: '--wechat-sign-type <type>',
        description: 'how requests to WeChat are signed',
        into: 'account.sign_type',
        choices: ['MD5', 'HMAC-SHA256'],
        default: 'MD5',
        implied: 'MD5',
      },
    ],
  },
  sandbox: 'wechat',
  create: wechatClient,
};

function validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
  const problems: string[] = [];
  if (!account.appid) problems.push('wechat account needs appid');
  if (!account.mch_id) problems.push('wechat account needs mch_id');
  if (account.sign_type !== undefined && !parseSignType(account.sign_type)) {
    problems.push('wechat sign_type must be MD5 or HMAC-SHA256');
  }
  if (credentials.api_key?.length !== 32) problems.push('wechat credentials need a 32-character api_key');
  problems.push(...certificateProblems(credentials.cert_pem, credentials.key_pem));
  return problems;
}

/** WeChat's API client certificate: both halves, parseable, belonging together and not expired. */
function certificateProblems(certPem: string | undefined, keyPem: string | undefined): string[] {
  if (!certPem || !keyPem) {
    return [
      'wechat credentials need the API client certificate (cert_pem and key_pem): reverse and refund require it',
    ];
  }
  try {
    const certificate = new X509Certificate(certPem);
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) {
      return ['wechat cert_pem and key_pem do not belong together'];
    }
    if (Date.parse(certificate.validTo) < Date.now()) {
      return [`wechat client certificate expired on ${certificate.validTo}`];
    }
    return [];
  } catch {
    return ['wechat cert_pem or key_pem is not a readable PEM certificate and private key'];
  }
}
