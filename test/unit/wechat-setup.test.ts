import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'vitest';
import { wechat } from '#core/channels/wechat/index.ts';
import { certificateSerial, createSandboxPki } from '#sandbox/certificates.ts';

const account = { appid: 'wx2421b1c4370ec43b', mch_id: '1900000109' };
const apiKey = 'sandboxwechatkey0123456789abcdef';

describe('WeChat account setup check', () => {
  const channel = wechat;
  const pki = createSandboxPki();
  const client = pki.issueClientCertificate(account.mch_id);

  it('accepts an account with its API key and a matching client certificate', () => {
    assert.deepEqual(
      channel.validateSetup(account, { api_key: apiKey, cert_pem: client.cert_pem, key_pem: client.key_pem }),
      [],
    );
  });

  it('refuses an account without the client certificate: every reverse would fail', () => {
    const problems = channel.validateSetup(account, { api_key: apiKey });
    assert.match(
      problems.join('; '),
      /client certificate \(cert_pem and key_pem\): reverse and refund require it/,
    );
  });

  it('refuses a certificate with another key, or text that is no PEM', () => {
    const mismatched = channel.validateSetup(account, {
      api_key: apiKey,
      cert_pem: client.cert_pem,
      key_pem: pki.server.key_pem,
    });
    assert.match(mismatched.join('; '), /do not belong together/);
    const garbage = channel.validateSetup(account, { api_key: apiKey, cert_pem: 'x', key_pem: 'y' });
    assert.match(garbage.join('; '), /not a readable PEM/);
  });

  it('refuses a short API key, a missing appid and an unknown sign_type', () => {
    const problems = channel.validateSetup(
      { mch_id: '1', sign_type: 'SHA1' },
      { api_key: 'short', cert_pem: client.cert_pem, key_pem: client.key_pem },
    );
    assert.equal(problems.length, 3, problems.join('; '));
  });
});

describe('sandbox certificates', () => {
  it('have serials that are positive, minimal DER integers of 16 bytes, whatever the random bytes', () => {
    for (let i = 0; i < 20_000; i++) {
      const serial = Buffer.from(certificateSerial(), 'hex');
      assert.equal(serial.length, 16);
      const first = serial[0] as number;
      assert.ok(first >= 0x01 && first <= 0x7f, `serial ${serial.toString('hex')}`);
    }
    // And a certificate carries it as written: OpenSSL reads back all 16 bytes.
    const pki = createSandboxPki();
    assert.match(new X509Certificate(pki.server.cert_pem).serialNumber, /^[0-7][0-9A-F]{31}$/);
  });
});
