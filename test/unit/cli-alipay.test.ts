import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { checkMerchant } from '#adapters/merchant-admin.ts';
import { alipay } from '#core/channels/alipay/index.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { onboardingOf } from '../../cli/onboarding.ts';
import { payTypeOf } from '../../cli/pay-type.ts';

describe('micropay pay picks the pay type from the payment code', () => {
  for (const [code, payType] of [
    ['134567890123456700', 'wechat.micro'],
    ['104567890123456700', 'wechat.micro'],
    ['2567890123456700', 'alipay.micro'],
    ['286789012345678900', 'alipay.micro'],
    ['305678901234567890123400', 'alipay.micro'],
    ['164567890123456700', undefined],
    ['316789012345678900', undefined],
    ['2867', undefined],
  ] as const) {
    it(`${code} → ${payType ?? 'none: --pay-type must say'}`, () => {
      assert.equal(payTypeOf(code), payType);
    });
  }
});

const alipayOnboarding = onboardingOf(alipay);

describe('micropay merchant add --alipay-…', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alipay-onboarding-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const files = {
    alipayPrivateKey: write(
      'app-private-key.pem',
      String(app.privateKey.export({ type: 'pkcs1', format: 'pem' })),
    ),
    alipayPublicKey: write(
      'alipay-public-key.pem',
      String(alipay.publicKey.export({ type: 'spki', format: 'pem' })),
    ),
    alipayAppPublicKey: write(
      'app-public-key.pem',
      String(app.publicKey.export({ type: 'spki', format: 'pem' })),
    ),
  };

  it('reads the key files into the secret, the app into the route, and passes the setup check', () => {
    const { account, credentials } = alipayOnboarding.setup({
      alipayAppId: '2021000000000002',
      alipaySellerId: '2088000000000002',
      ...files,
    });
    assert.deepEqual(account, { app_id: '2021000000000002', seller_id: '2088000000000002' });
    assert.match(credentials.app_private_key_pem ?? '', /BEGIN RSA PRIVATE KEY/);
    assert.deepEqual(Object.keys(credentials).sort(), [
      'alipay_public_key_pem',
      'app_private_key_pem',
      'app_public_key_pem',
    ]);
    const problems = checkMerchant(
      installedChannels,
      { merchant_id: 'M200000001', status: 0, pay_types: { 'alipay.micro': { channel: 'alipay', account } } },
      { api_key: 'merchant-key-0123456789abcdef', channels: { alipay: credentials } },
    );
    assert.deepEqual(problems, []);
  });

  it('refuses keys swapped by mistake, naming the pay type, and a key file that is not there', () => {
    const { account, credentials } = alipayOnboarding.setup({
      alipayAppId: '2021000000000002',
      alipayPrivateKey: files.alipayPrivateKey,
      alipayPublicKey: files.alipayAppPublicKey,
    });
    const problems = checkMerchant(
      installedChannels,
      { merchant_id: 'M200000001', status: 0, pay_types: { 'alipay.micro': { channel: 'alipay', account } } },
      { api_key: 'merchant-key-0123456789abcdef', channels: { alipay: credentials } },
    );
    assert.match(problems.join('; '), /^alipay\.micro: alipay_public_key_pem is the app's own public key/);
    assert.throws(
      () =>
        alipayOnboarding.setup({ alipayAppId: '2021000000000002', alipayPrivateKey: join(dir, 'none.pem') }),
      /--alipay-private-key: file .* not found/,
    );
  });
});
