import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { checkMerchant } from '#adapters/merchant-admin.ts';
import { installedChannels } from '#core/channels/installed.ts';
import type { MerchantProfile, MerchantSecret } from '#core/merchants.ts';
import {
  merchantClient,
  payment,
  sandboxPayTypes,
  scanOrders,
  useLocalStack,
  wechatCode,
} from '../support/local.ts';

/** Every outcome of SPEC section 6's table, and one that pays at once. */
const outcomes = ['00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '57'];

/**
 * What no log line, error message, stored order, state machine input or API answer may hold: every payment code
 * used, every merchant's API key, and every channel credential of every merchant (keys, and each line of every
 * PEM's body, so a key cut up or re-wrapped is found too).
 */
function secretsOf(secrets: Readonly<Record<string, MerchantSecret>>, codes: readonly string[]): string[] {
  const found = new Set<string>(codes);
  for (const secret of Object.values(secrets)) {
    found.add(secret.api_key);
    for (const credentials of Object.values(secret.channels)) {
      for (const value of Object.values(credentials)) {
        if (!value.includes('-----BEGIN')) {
          found.add(value);
          continue;
        }
        for (const line of value.split(/\r?\n/)) {
          if (/^[A-Za-z0-9+/=]{32,}$/.test(line.trim())) found.add(line.trim());
        }
      }
    }
  }
  return [...found];
}

/** Everything written to the console, stdout and stderr while the tests of this file run, kept off the screen. */
function captureOutput() {
  const captured: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const originals = methods.map((name) => console[name]);
  const writes = [process.stdout, process.stderr].map((stream) => stream.write.bind(stream));
  beforeAll(() => {
    for (const name of methods) {
      console[name] = (...args: unknown[]) => {
        captured.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
      };
    }
    for (const stream of [process.stdout, process.stderr]) {
      stream.write = ((chunk: string | Uint8Array) => {
        captured.push(String(chunk));
        return true;
      }) as typeof stream.write;
    }
  });
  afterAll(() => {
    for (const [i, name] of methods.entries()) console[name] = originals[i] as (typeof console)[typeof name];
    process.stdout.write = writes[0] as typeof process.stdout.write;
    process.stderr.write = writes[1] as typeof process.stderr.write;
  });
  return captured;
}

describe('no payment code or key in any log line, at the most verbose level, on every channel', () => {
  const captured = captureOutput();
  const stack = useLocalStack({ logLevel: 'TRACE' });
  const codes: string[] = [];
  const answers: string[] = [];

  it('runs every sandbox outcome on every channel, reverses, queries and refusals, logging everything', async () => {
    // M100000001 pays with WeChat and Alipay, M100000004 with BlueOcean, M100000005 with fshows.
    const routes = [
      { merchant: 0, payType: sandboxPayTypes[0] },
      { merchant: 0, payType: sandboxPayTypes[1] },
      { merchant: 3, payType: sandboxPayTypes[0] },
      { merchant: 4, payType: sandboxPayTypes[0] },
    ];
    await Promise.all(
      routes.flatMap(({ merchant, payType }) =>
        outcomes.map(async (outcome) => {
          const client = merchantClient(stack(), merchant);
          const request = payment(outcome, {}, payType);
          codes.push(String(request.auth_code));
          const paid = await client.micropay(request);
          answers.push(JSON.stringify(paid.envelope));
          const tradeId = String(paid.envelope.data?.trade_id);
          answers.push(JSON.stringify((await client.query({ trade_id: tradeId })).envelope));
          if (outcome === '00')
            answers.push(JSON.stringify((await client.reverse({ trade_id: tradeId })).envelope));
        }),
      ),
    );
    // Refusals: a wrong signature, another merchant's order, a repeated number with another code.
    const client = merchantClient(stack());
    const repeated = payment('00');
    codes.push(String(repeated.auth_code), wechatCode('03'));
    answers.push(JSON.stringify((await client.micropay(repeated)).envelope));
    answers.push(
      JSON.stringify((await client.micropay({ ...repeated, auth_code: wechatCode('03') })).envelope),
    );
    answers.push(
      JSON.stringify(
        (await client.post('/v1/micropay', { ...client.signed(payment('00')), sign: 'A'.repeat(32) }))
          .envelope,
      ),
    );
    await stack().stepFunctions.idle();
    assert.ok(
      captured.some((line) => /"level": ?"(DEBUG|INFO|TRACE)"/.test(line)),
      'the handlers logged below WARN',
    );
  });

  it('finds none of them in the logs, the stored orders, the state machine inputs or the answers', async () => {
    const secrets = secretsOf(stack().merchantSecrets, codes);
    assert.ok(secrets.length > 60, `${secrets.length} secrets looked for`);
    const places = {
      logs: captured.join('\n'),
      orders: JSON.stringify(await scanOrders(stack())),
      inputs: JSON.stringify(
        stack()
          .stepFunctions.list()
          .map((execution) => execution.input),
      ),
      answers: answers.join('\n'),
    };
    assert.ok(places.logs.length > 10_000, 'the run logged');
    for (const [place, text] of Object.entries(places)) {
      const leaked = secrets.filter((secret) => text.includes(secret));
      assert.deepEqual(
        leaked.map((secret) => `${secret.slice(0, 6)}…`),
        [],
        `found in the ${place}`,
      );
    }
  });
});

describe('a merchant set up wrongly is told what is wrong, never shown its keys', () => {
  const weak = generateKeyPairSync('rsa', {
    modulusLength: 1024,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const profile = (channel: string, account: Record<string, string>): MerchantProfile => ({
    merchant_id: 'M9',
    status: 0,
    pay_types: { [channel === 'alipay' ? 'alipay.micro' : 'wechat.micro']: { channel, account } },
  });
  const cases: { channel: string; account: Record<string, string>; credentials: Record<string, string> }[] = [
    {
      channel: 'wechat',
      account: { appid: 'wx1', mch_id: '1' },
      credentials: {
        api_key: 'leak-wechat-key-31-characters00',
        key_pem: weak.privateKey,
        cert_pem: 'not a certificate',
      },
    },
    {
      channel: 'alipay',
      account: { app_id: '2021000000000009' },
      credentials: { app_private_key_pem: weak.privateKey, alipay_public_key_pem: pair.publicKey },
    },
    {
      channel: 'alipay',
      account: { app_id: '2021000000000009' },
      credentials: { app_private_key_pem: pair.privateKey, alipay_public_key_pem: pair.publicKey },
    },
    {
      channel: 'blueocean',
      account: { appid: '1', currency: 'HKD' },
      credentials: { api_key: 'leak-short' },
    },
    {
      channel: 'fshows',
      account: { app_id: '1', store_id: '1' },
      credentials: {
        private_key_pem: weak.privateKey,
        platform_public_key_pem: 'leak-not-a-key-0123456789abcdef',
      },
    },
  ];

  for (const c of cases) {
    it(`${c.channel}: ${Object.keys(c.credentials).join(', ')}`, () => {
      const secret: MerchantSecret = {
        api_key: 'leak-merchant-api-key-000000000',
        channels: { [c.channel]: c.credentials },
      };
      const problems = checkMerchant(installedChannels, profile(c.channel, c.account), secret);
      assert.ok(problems.length > 0, 'the setup is refused');
      const secrets = secretsOf({ M9: secret }, []);
      const said = problems.join('\n');
      assert.deepEqual(
        secrets.filter((s) => said.includes(s)).map((s) => `${s.slice(0, 6)}…`),
        [],
        said,
      );
    });
  }
});
