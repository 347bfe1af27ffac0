import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'vitest';
import { alipay as alipayChannel } from '#core/channels/alipay/index.ts';

const account = { app_id: '2021000000000001', seller_id: '2088000000000001' };
const rsa = (modulusLength = 2048) => generateKeyPairSync('rsa', { modulusLength });
const app = rsa();
const alipay = rsa();
const pem = {
  pkcs8: String(app.privateKey.export({ type: 'pkcs8', format: 'pem' })),
  pkcs1: String(app.privateKey.export({ type: 'pkcs1', format: 'pem' })),
  appPublic: String(app.publicKey.export({ type: 'spki', format: 'pem' })),
  alipayPublic: String(alipay.publicKey.export({ type: 'spki', format: 'pem' })),
};

describe('Alipay account setup check', () => {
  const channel = alipayChannel;

  for (const format of ['pkcs8', 'pkcs1'] as const) {
    it(`accepts an app whose private key is ${format.toUpperCase()} PEM, with Alipay's public key`, () => {
      assert.deepEqual(
        channel.validateSetup(account, {
          app_private_key_pem: pem[format],
          alipay_public_key_pem: pem.alipayPublic,
        }),
        [],
      );
    });
  }

  it('accepts the app public key that goes with the private key, and refuses one that does not', () => {
    const credentials = { app_private_key_pem: pem.pkcs8, alipay_public_key_pem: pem.alipayPublic };
    assert.deepEqual(
      channel.validateSetup(account, { ...credentials, app_public_key_pem: pem.appPublic }),
      [],
    );
    const problems = channel.validateSetup(account, { ...credentials, app_public_key_pem: pem.alipayPublic });
    assert.match(problems.join('; '), /does not sign what the app public key verifies/);
  });

  it("refuses the app's own public key in place of Alipay's: no answer would ever verify", () => {
    const problems = channel.validateSetup(account, {
      app_private_key_pem: pem.pkcs1,
      alipay_public_key_pem: pem.appPublic,
    });
    assert.match(problems.join('; '), /the app's own public key/);
  });

  it('refuses missing or unreadable keys, and a key too short for RSA2, without quoting them', () => {
    const missing = channel.validateSetup(account, {});
    assert.match(missing.join('; '), /need app_private_key_pem/);
    assert.match(missing.join('; '), /need alipay_public_key_pem/);
    const garbage = channel.validateSetup(account, { app_private_key_pem: 'x', alipay_public_key_pem: 'y' });
    assert.equal(garbage.length, 2, garbage.join('; '));
    const short = String(rsa(1024).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const problems = channel.validateSetup(account, {
      app_private_key_pem: short,
      alipay_public_key_pem: pem.alipayPublic,
    });
    assert.match(problems.join('; '), /at least 2048 bits/);
    assert.ok(!problems.join('').includes('PRIVATE KEY'));
  });

  it('refuses a missing app_id, a seller_id that is no Alipay user id and a currency other than CNY', () => {
    const credentials = { app_private_key_pem: pem.pkcs8, alipay_public_key_pem: pem.alipayPublic };
    const problems = channel.validateSetup({ seller_id: '1234', currency: 'HKD' }, credentials);
    assert.equal(problems.length, 3, problems.join('; '));
  });
});
