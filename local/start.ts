import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MerchantProfile } from '#core/merchants.ts';
import { sandboxMerchants } from '#sandbox/index.ts';
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

// For `micropay … --env-file .local/local.env` (merchant add, export, reconcile): this local stack's environment,
// the gateway's own (endpoints, tables, each channel's sandbox URL and the sandboxes' CA), values double-quoted.
const envFile = '.local/local.env';
mkdirSync('.local', { recursive: true });
// Node's env file reader expands \n inside double quotes (the CA's PEM); no value here holds a quote.
const quoted = (value: string) => `"${value.replaceAll('\n', '\\n')}"`;
writeFileSync(
  envFile,
  [
    ...Object.entries(stack.env).map(([name, value]) => `${name}=${quoted(value)}`),
    `MICROPAY_URL=${stack.apiUrl}`,
    '',
  ].join('\n'),
);

// For `micropay merchant add`: each sandbox's account flags, with the key files they name (kept in .local/).
const keyFiles = join('.local', 'merchant-add');
const merchantAdd = stack.sandboxes.flatMap((sandbox) => sandbox.merchantAddFlags(keyFiles) ?? []);

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
  `  ${'API'.padEnd(26)} ${stack.apiUrl}   (POST /v1/micropay, /v1/query, /v1/reverse, /v1/refund, /v1/refund/query)`,
  ...stack.sandboxes.map((sandbox) => `  ${sandbox.label.padEnd(26)} ${sandbox.url}   (${sandbox.paths})`),
  `  ${'sandbox test CA'.padEnd(26)} ${stack.pki.dir ? join(stack.pki.dir, 'ca.pem') : 'in memory'}   (trusted by the gateway only)`,
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
  '                    followed by the flags of each channel that serves it; for the sandbox accounts:',
  ...merchantAdd.map((flags) => `                    ${flags}`),
  ...(values.persist
    ? []
    : ['                  (sandboxes whose keys live in memory are listed with --persist)']),
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
