#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkMerchant, putMerchant } from '#adapters/merchant-admin.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { type ApiAnswer, MicropayClient } from './client.ts';
import { financeCommands } from './finance.ts';
import { merchantFromOptions, onboardings } from './onboarding.ts';
import { payTypeOf } from './pay-type.ts';
import { reconcileCommand } from './reconcile.ts';

const tradeStates: Record<number, string> = {
  0: 'paid',
  1: 'refund',
  2: 'not paid',
  3: 'closed',
  4: 'reversed',
  5: 'reversing',
  6: 'paying',
  7: 'failed',
};

const integer = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(value);
};

const program = new Command('micropay')
  .description(
    'Command-line client of the micropay gateway: pay, query, reverse, refund, merchant administration, finance exports, reports and reconciliation.',
  )
  .option(
    '--env-file <path>',
    'load environment variables from this file first (npm start writes .local/local.env)',
  );

/**
 * Loads `--env-file` before the command line is parsed: options take their defaults from the environment
 * (`--merchants-table` from MERCHANTS_TABLE, …) while it is parsed, which is before any hook runs.
 */
function loadEnvFileFromArguments(argv: readonly string[]): void {
  const at = argv.findIndex((arg) => arg === '--env-file' || arg.startsWith('--env-file='));
  if (at < 0) return;
  const given = argv[at] ?? '';
  const file = given.includes('=') ? given.slice(given.indexOf('=') + 1) : argv[at + 1];
  if (!file || !existsSync(file)) throw new InvalidArgumentError(`env file ${file ?? '(none)'} not found`);
  process.loadEnvFile(file);
}

function apiOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'gateway base URL').env('MICROPAY_URL').default('http://127.0.0.1:3000'),
    )
    .addOption(new Option('--merchant <id>', 'merchant_id').env('MICROPAY_MERCHANT_ID').makeOptionMandatory())
    .addOption(new Option('--key <key>', 'merchant API key').env('MICROPAY_KEY').makeOptionMandatory())
    .addOption(
      new Option('--sign-type <type>', 'signature type').choices(['MD5', 'HMAC-SHA256']).default('MD5'),
    )
    .option('--json', 'print the raw response envelope');
}

function clientOf(opts: Record<string, unknown>): MicropayClient {
  return new MicropayClient({
    url: String(opts.url),
    merchantId: String(opts.merchant),
    key: String(opts.key),
    signType: opts.signType as 'MD5' | 'HMAC-SHA256',
  });
}

function show(answer: ApiAnswer, json: boolean): void {
  const { envelope } = answer;
  if (json) {
    console.log(JSON.stringify(envelope, null, 2));
  } else if (envelope.code !== 0 && !envelope.data) {
    console.log(`code ${envelope.code}: ${envelope.msg}`);
  } else {
    const d = envelope.data ?? {};
    const state = Number(d.trade_state);
    console.log(
      `code ${envelope.code}${envelope.msg ? ` (${envelope.msg})` : ''}  trade_id ${d.trade_id}  mch_trade_id ${d.mch_trade_id}  ` +
        `total_fee ${d.total_fee}  trade_state ${state} ${tradeStates[state] ?? ''}  need_query ${d.need_query}`,
    );
  }
  if (envelope.sign !== undefined && !answer.signatureValid)
    console.error('warning: the response signature does not verify');
  if (envelope.code !== 0) process.exitCode = 1;
}

apiOptions(program.command('pay'))
  .description('submit a barcode payment, then follow it until its outcome is final')
  .requiredOption('--amount <fen>', 'total_fee in fen', integer('--amount'))
  .requiredOption('--auth-code <code>', "the shopper's payment code")
  .option('--pay-type <type>', 'pay_type (default: from the code: 10–15 wechat.micro, 25–30 alipay.micro)')
  .option('--mch-trade-id <id>', 'your order id (default: generated)')
  .option('--body <text>', 'goods description', 'POS payment')
  .option('--ip <address>', 'spbill_create_ip', '127.0.0.1')
  .option('--store-id <id>', 'store_id')
  .option('--no-wait', 'return after the submit answer')
  .option('--timeout <seconds>', 'how long to follow the order', integer('--timeout'), 180)
  .action(async (opts) => {
    const payType = opts.payType ?? payTypeOf(opts.authCode);
    if (!payType) {
      throw new InvalidArgumentError(
        '--auth-code is neither a WeChat (10–15…) nor an Alipay (25–30…) payment code: give --pay-type',
      );
    }
    const client = clientOf(opts);
    const answer = await client.micropay({
      pay_type: payType,
      mch_trade_id: opts.mchTradeId ?? `cli-${Date.now()}-${randomBytes(2).toString('hex')}`,
      body: opts.body,
      total_fee: opts.amount,
      spbill_create_ip: opts.ip,
      auth_code: opts.authCode,
      store_id: opts.storeId,
      time_start: Math.floor(Date.now() / 1000),
    });
    show(answer, opts.json);
    const tradeId = answer.envelope.data?.trade_id as string | undefined;
    if (!opts.wait || !tradeId || answer.envelope.data?.need_query !== 'Y') return;
    console.log('outcome not final yet; the gateway is settling it. Following…');
    const deadline = Date.now() + opts.timeout * 1000;
    let last = Number(answer.envelope.data?.trade_state);
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const next = await client.query({ trade_id: tradeId });
      const state = Number(next.envelope.data?.trade_state);
      if (state !== last) {
        console.log(`  trade_state ${state} ${tradeStates[state] ?? ''}`);
        last = state;
      }
      if (next.envelope.data?.need_query === 'N') {
        show(next, opts.json);
        return;
      }
    }
    console.log('still not final; query it later with: micropay query --trade-id', tradeId);
    process.exitCode = 2;
  });

for (const name of ['query', 'reverse'] as const) {
  apiOptions(program.command(name))
    .description(
      name === 'query' ? 'show one order' : 'cancel an order (closes it if unpaid, refunds it if paid)',
    )
    .option('--trade-id <id>', "the gateway's trade_id")
    .option('--mch-trade-id <id>', 'your order id')
    .action(async (opts) => {
      if (!opts.tradeId && !opts.mchTradeId)
        throw new InvalidArgumentError('give --trade-id or --mch-trade-id');
      const ids = { trade_id: opts.tradeId, mch_trade_id: opts.mchTradeId };
      show(await clientOf(opts)[name](ids), opts.json);
    });
}

const refundStates: Readonly<Record<number, string>> = {
  0: 'refunded',
  1: 'processing',
  2: 'failed',
  3: 'abnormal (a person must act)',
};

function showRefund(answer: ApiAnswer, json: boolean): void {
  const { envelope } = answer;
  if (json || (envelope.code !== 0 && !envelope.data)) {
    show(answer, json);
    return;
  }
  const d = envelope.data ?? {};
  const line = (r: Record<string, unknown>) =>
    `refund_id ${r.refund_id}  out_refund_no ${r.out_refund_no}  refund_fee ${r.refund_fee}  ` +
    `refund_state ${r.refund_state} ${refundStates[Number(r.refund_state)] ?? ''}  need_query ${r.need_query}`;
  const list = Array.isArray(d.refunds) ? (d.refunds as Record<string, unknown>[]) : undefined;
  console.log(
    `code ${envelope.code}${envelope.msg ? ` (${envelope.msg})` : ''}  trade_id ${d.trade_id}  ` +
      `total_fee ${d.total_fee}  refunded_fee ${d.refunded_fee}`,
  );
  for (const refund of list ?? [d]) console.log(`  ${line(refund)}`);
  if (envelope.sign !== undefined && !answer.signatureValid)
    console.error('warning: the response signature does not verify');
  if (envelope.code !== 0) process.exitCode = 1;
}

// One command, `refund` and `refund query`: a subcommand would take the API options away from `--env-file`'s
// place after the command name, which every other command allows.
apiOptions(program.command('refund'))
  .argument('[query]', '`query`: show one refund, or every refund of an order, instead of refunding')
  .description('refund all or part of a paid order and follow it until final; `refund query` shows refunds')
  .option('--trade-id <id>', "the order's trade_id")
  .option('--mch-trade-id <id>', 'your order id')
  .option('--amount <fen>', 'refund_fee in fen (refund)', integer('--amount'))
  .option('--out-refund-no <no>', 'your refund number (refund: default generated)')
  .option('--refund-id <id>', "the gateway's refund_id (query)")
  .option('--reason <text>', 'refund_desc (refund)')
  .option('--no-wait', 'return after the refund answer')
  .option('--timeout <seconds>', 'how long to follow the refund', integer('--timeout'), 180)
  .action(async (query: string | undefined, opts) => {
    const client = clientOf(opts);
    if (query !== undefined) {
      if (query !== 'query')
        throw new InvalidArgumentError(`unknown refund command ${query}; did you mean query?`);
      if (!opts.refundId && !opts.outRefundNo && !opts.tradeId && !opts.mchTradeId) {
        throw new InvalidArgumentError('give --refund-id, --out-refund-no, --trade-id or --mch-trade-id');
      }
      const ids = {
        refund_id: opts.refundId,
        out_refund_no: opts.outRefundNo,
        trade_id: opts.tradeId,
        mch_trade_id: opts.mchTradeId,
      };
      showRefund(await client.refundQuery(ids), opts.json);
      return;
    }
    if (!opts.tradeId && !opts.mchTradeId)
      throw new InvalidArgumentError('give --trade-id or --mch-trade-id');
    if (opts.amount === undefined) throw new InvalidArgumentError('give --amount (refund_fee in fen)');
    const answer = await client.refund({
      trade_id: opts.tradeId,
      mch_trade_id: opts.mchTradeId,
      out_refund_no: opts.outRefundNo ?? `cli-rf-${Date.now()}-${randomBytes(2).toString('hex')}`,
      refund_fee: opts.amount,
      refund_desc: opts.reason,
    });
    showRefund(answer, opts.json);
    const refundId = answer.envelope.data?.refund_id as string | undefined;
    if (!opts.wait || !refundId || answer.envelope.data?.need_query !== 'Y') return;
    console.log('refund not final yet; the gateway is following it. Following…');
    const deadline = Date.now() + opts.timeout * 1000;
    let last = Number(answer.envelope.data?.refund_state);
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const next = await client.refundQuery({ refund_id: refundId });
      const state = Number(next.envelope.data?.refund_state);
      if (state !== last) {
        console.log(`  refund_state ${state} ${refundStates[state] ?? ''}`);
        last = state;
      }
      if (next.envelope.data?.need_query === 'N') {
        showRefund(next, opts.json);
        return;
      }
    }
    console.log(
      'still processing (a refund may take days); query it later: micropay refund query --refund-id',
      refundId,
    );
    process.exitCode = 2;
  });

const merchantAdd = program
  .command('merchant')
  .description(
    'merchant administration (writes the merchants table and Secrets Manager with your AWS credentials)',
  )
  .command('add')
  .description(
    'add or update a merchant and its secret; give the flags of each channel that serves it (one per pay type)',
  )
  .requiredOption('--id <merchant_id>', 'merchant_id')
  .requiredOption('--key <api_key>', 'the API key the merchant signs with')
  .option('--name <name>', 'display name')
  .addOption(
    new Option('--status <status>', 'status: 0 active, 1 applied, 2 rejected, 3 disabled')
      .choices(['0', '1', '2', '3'])
      .default('0'),
  )
  .addOption(
    new Option('--merchants-table <name>', 'merchants table')
      .env('MERCHANTS_TABLE')
      .default('micropay-merchants'),
  )
  .addOption(
    new Option('--secret-prefix <prefix>', 'secret name prefix')
      .env('MERCHANT_SECRET_PREFIX')
      .default('micropay/merchants/'),
  );
const channels = onboardings();
for (const onboarding of channels) onboarding.options(merchantAdd);
merchantAdd.action(async (opts) => {
  const { profile, secret } = merchantFromOptions(opts, channels);
  const problems = checkMerchant(installedChannels, profile, secret);
  if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '));
  await putMerchant(
    {
      dynamo: new DynamoDBClient({}),
      secrets: new SecretsManagerClient({}),
      table: opts.merchantsTable,
      secretPrefix: opts.secretPrefix,
    },
    profile,
    secret,
  );
  const routes = Object.entries(profile.pay_types).map(
    ([payType, route]) => `${payType} via ${route?.channel}`,
  );
  console.log(`merchant ${profile.merchant_id} saved (status ${profile.status}, ${routes.join(', ')})`);
});

financeCommands(program);
reconcileCommand(program);

try {
  loadEnvFileFromArguments(process.argv);
  await program.parseAsync();
} catch (error) {
  console.error(`micropay: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
