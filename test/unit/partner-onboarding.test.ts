import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, it } from 'vitest';
import { checkMerchant } from '#adapters/merchant-admin.ts';
import { blueocean } from '#core/channels/blueocean/index.ts';
import { fshows } from '#core/channels/fshows/index.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { type ChannelOnboarding, onboardingOf } from '../../cli/onboarding.ts';

const blueoceanOnboarding = onboardingOf(blueocean);
const fshowsOnboarding = onboardingOf(fshows);

/** What `merchant add` would build from these flags for one channel: its route and the setup check's verdict. */
function onboard(onboarding: ChannelOnboarding, argv: string[]) {
  const command = onboarding.options(new Command().exitOverride());
  const opts = command.parse(argv, { from: 'user' }).opts();
  assert.ok(opts[onboarding.trigger] !== undefined, 'the trigger flag configures the channel');
  const { account, credentials } = onboarding.setup(opts);
  const problems = checkMerchant(
    installedChannels,
    {
      merchant_id: 'M200000001',
      status: 0,
      pay_types: { 'wechat.micro': { channel: onboarding.channel, account } },
    },
    { api_key: 'merchant-api-key-000000', channels: { [onboarding.channel]: credentials } },
  );
  return { account, credentials, problems };
}

describe('merchant add: BlueOcean', () => {
  it('routes wechat.micro to BlueOcean in HKD with the seed API unless told otherwise', () => {
    const { account, credentials, problems } = onboard(blueoceanOnboarding, [
      '--blueocean-appid',
      '1000258',
      '--blueocean-key',
      'sandboxblueoceankey0123456789abc',
    ]);
    assert.deepEqual(account, { appid: '1000258', currency: 'HKD' });
    assert.deepEqual(credentials, { api_key: 'sandboxblueoceankey0123456789abc' });
    assert.deepEqual(problems, []);
  });

  it('takes the unified API and another region’s currency', () => {
    const { account, problems } = onboard(blueoceanOnboarding, [
      '--blueocean-appid=1',
      '--blueocean-key=sandboxblueoceankey0123456789abc',
      '--blueocean-api=unified',
      '--blueocean-currency=AUD',
    ]);
    assert.deepEqual(account, { appid: '1', currency: 'AUD', api: 'unified' });
    assert.deepEqual(problems, []);
  });

  it('names what is missing', () => {
    const { problems } = onboard(blueoceanOnboarding, ['--blueocean-appid', '1000258']);
    assert.deepEqual(problems, [
      'wechat.micro: blueocean credentials need the api_key BlueOcean issued (at least 16 characters)',
    ]);
  });
});

describe('merchant add: fshows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fshows-onboarding-'));
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(join(dir, 'key.pem'), pair.privateKey);
  writeFileSync(join(dir, 'platform.pem'), pair.publicKey);

  it('routes wechat.micro to fshows with the store and both keys read from their files', () => {
    const { account, credentials, problems } = onboard(fshowsOnboarding, [
      '--fshows-app-id=2016072300007148',
      '--fshows-store-id=20170720205421027980',
      `--fshows-private-key=${join(dir, 'key.pem')}`,
      `--fshows-platform-public-key=${join(dir, 'platform.pem')}`,
    ]);
    assert.deepEqual(account, { app_id: '2016072300007148', store_id: '20170720205421027980' });
    assert.deepEqual(credentials, {
      private_key_pem: pair.privateKey,
      platform_public_key_pem: pair.publicKey,
    });
    assert.deepEqual(problems, []);
  });

  it('names what is missing or unreadable', () => {
    const { problems } = onboard(fshowsOnboarding, [
      '--fshows-app-id=2016072300007148',
      `--fshows-private-key=${join(dir, 'platform.pem')}`,
    ]);
    assert.deepEqual(problems, [
      'wechat.micro: fshows account needs store_id (the sub-merchant store fshows assigned)',
      'wechat.micro: fshows private_key_pem is not a readable RSA private key',
    ]);
  });
});
