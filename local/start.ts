import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MerchantProfile } from '#core/merchants.ts';
import { sandboxAlipay, sandboxMerchants, sandboxWechat } from './sandbox-merchants.ts';
import { startLocalStack } from './stack.ts';

/** `npm start`: the whole gateway on this machine (SPEC section 6). */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    persist: { type: 'boolean', default: false },
  },
});
/** A scale from the environment (core/config.ts's rule: a number in (0, 1]); exits with the reason otherwise. */
function scaleFromEnv(name: 'MICROPAY_TIME_SCALE' | 'MICROPAY_DEADLINE_SCALE', fallback: number): number {
  const scale = Number(process.env[name] ?? fallback);
  if (!(scale > 0 && scale <= 1)) {
    console.error(`${name} must be a number in (0, 1], got ${process.env[name]}`);
    process.exit(1);
  }
  return scale;
}
const timeScale = scaleFromEnv('MICROPAY_TIME_SCALE', 1);
const deadlineScale = scaleFromEnv('MICROPAY_DEADLINE_SCALE', timeScale);
const stack = await startLocalStack({
  port: Number(values.port),
  timeScale,
  deadlineScale,
  dataDir: values.persist ? '.local' : undefined,
  logLevel: process.env.LOG_LEVEL ?? 'INFO',
});

// For `micropay merchant add --env-file .local/local.env`: the endpoints and tables of this local stack.
const envFile = '.local/local.env';
mkdirSync('.local', { recursive: true });
const exported = ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL_DYNAMODB'];
exported.push('AWS_ENDPOINT_URL_SECRETS_MANAGER', 'MERCHANTS_TABLE', 'MERCHANT_SECRET_PREFIX');
exported.push('ORDERS_TABLE'); // micropay export --env-file .local/local.env
writeFileSync(
  envFile,
  [...exported.map((name) => `${name}=${stack.env[name]}`), `MICROPAY_URL=${stack.apiUrl}`, ''].join('\n'),
);

// For `micropay merchant add --wechat-cert … --wechat-cert-key …`: the sandbox account's client certificate.
// A persisted PKI already keeps it in .local/certs; an in-memory one is only good for this run.
const certDir = stack.pki.dir ?? '.local/certs-this-run';
const mchId = sandboxWechat.account.mch_id;
const clientCert = join(certDir, `client-${mchId}.pem`);
const clientKey = join(certDir, `client-${mchId}-key.pem`);
const wechatCredentials =
  stack.merchantSecrets[sandboxMerchants[0]?.profile.merchant_id ?? '']?.channels.wechat;
if (!stack.pki.dir && wechatCredentials?.cert_pem && wechatCredentials.key_pem) {
  mkdirSync(certDir, { recursive: true });
  writeFileSync(clientCert, wechatCredentials.cert_pem);
  writeFileSync(clientKey, wechatCredentials.key_pem, { mode: 0o600 });
}

/** A merchant's pay types and the channel serving each, e.g. `wechat.micro via blueocean`. */
const routes = (payTypes: MerchantProfile['pay_types']) =>
  Object.entries(payTypes)
    .map(([payType, route]) => `${payType} via ${route?.channel}`)
    .join(', ');

const first = sandboxMerchants[0];
const lines = [
  '',
  `Micropay gateway (local) is up${values.persist ? ', data kept in .local/' : ', data in memory'}.`,
  '',
  `  ${'API'.padEnd(26)} ${stack.apiUrl}   (POST /v1/micropay, /v1/query, /v1/reverse)`,
  ...stack.sandboxes.map((sandbox) => `  ${sandbox.label.padEnd(26)} ${sandbox.url}   (${sandbox.paths})`),
  `  ${'sandbox test CA'.padEnd(26)} ${stack.pki.dir ? join(stack.pki.dir, 'ca.pem') : 'in memory'}   (trusted by the gateway only; /secapi/ needs the client certificate)`,
  `  ${'time scale'.padEnd(26)} ${timeScale}   (MICROPAY_TIME_SCALE; deadlines ${deadlineScale}, MICROPAY_DEADLINE_SCALE)`,
  '',
  '  Sandbox merchants:',
  ...sandboxMerchants.map(
    ({ profile, secret }) =>
      `    ${profile.merchant_id}  key ${secret.api_key}  status ${profile.status}  ${routes(profile.pay_types)}`,
  ),
  '',
  '  The last two digits of auth_code choose the sandbox outcome (00 pays, 01 user paying, 03 no balance, …).',
  '  Pay now, from another terminal:',
  '',
  `    npm run micropay -- pay --url ${stack.apiUrl} --merchant ${first?.profile.merchant_id} --key ${first?.secret.api_key} \\`,
  '      --amount 1 --auth-code 134567890123456701      (WeChat; an Alipay code: 286789012345678901)',
  '',
  `  Add a merchant:  npm run micropay -- merchant add --env-file ${envFile} --id M200000001 --key <api key> \\`,
  `                    --wechat-appid ${sandboxWechat.account.appid} --wechat-mch-id ${mchId} --wechat-key ${sandboxWechat.credentials.api_key} \\`,
  `                    --wechat-cert ${clientCert} --wechat-cert-key ${clientKey}`,
  ...(values.persist
    ? [
        `                  Alipay: --alipay-app-id ${sandboxAlipay.account.app_id} --alipay-private-key .local/alipay-sandbox/app-private-key.pem \\`,
        '                    --alipay-public-key .local/alipay-sandbox/alipay-public-key.pem',
      ]
    : []),
  '',
  '  Ctrl-C stops everything.',
  '',
];
console.log(lines.join('\n'));

const shutdown = async () => {
  await stack.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
