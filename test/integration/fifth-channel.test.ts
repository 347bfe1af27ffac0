import assert from 'node:assert/strict';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Command } from 'commander';
import { describe, it } from 'vitest';
import { checkMerchant, putMerchant } from '#adapters/merchant-admin.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { channelRegistry } from '#core/channels/registry.ts';
import { channelSettings, loadConfig } from '#core/config.ts';
import { toMerchantView } from '#core/orders/order.ts';
import { curatedColumnsFor, rawAttributesFor } from '#finance/catalog.ts';
import { readSql } from '#finance/sql.ts';
import { sandboxStarters } from '#sandbox/index.ts';
import { MicropayClient } from '../../cli/client.ts';
import { merchantFromOptions, onboardingOf, onboardings } from '../../cli/onboarding.ts';
import { payment, scanOrders, useLocalStack, wechatCode } from '../support/local.ts';
import { tally } from '../support/tally/index.ts';
import { tallyShop, tallyStarter } from '../support/tally/sandbox.ts';

/**
 * docs/adding-a-channel.md followed for real: Tally Pay lives in test/support/tally/ (descriptor, client, wire,
 * sandbox) and nothing else was edited. The registry, configuration, CLI, finance catalog and local stack take
 * it from the list of descriptors they are given.
 */
const channels = [...installedChannels, tally];

describe('a fifth channel added in its own folder (test/support/tally)', () => {
  const stack = useLocalStack({ channels, sandboxStarters: { ...sandboxStarters, tally: tallyStarter } });

  it('configuration reads its endpoint variable, and refuses a malformed one by name', () => {
    const config = loadConfig(stack().env, channels);
    assert.equal(config.channels.tally?.url, stack().sandbox('tally').url);
    const { TALLY_URL: _, ...without } = stack().env;
    assert.equal(loadConfig(without, channels).channels.tally?.url, tally.endpoint.url);
    assert.throws(() => loadConfig({ ...stack().env, TALLY_URL: 'not a url' }, channels), /TALLY_URL/);
  });

  it('the registry makes its client and knows the fields it adds to an order', () => {
    const registry = channelRegistry(channelSettings(loadConfig(stack().env, channels)), channels);
    assert.equal(registry.get('tally')?.name, 'tally');
    assert.deepEqual(
      registry.orderFields?.('tally').map((field) => field.name),
      ['tally_ref', 'tally_fee'],
    );
    assert.equal(channelRegistry(channelSettings(loadConfig(stack().env))).get('tally'), undefined);
  });

  it('micropay merchant add takes its flags and routes wechat.micro to it', () => {
    const help = onboardingOf(tally).options(new Command('add')).helpInformation();
    assert.match(help, /--tally-shop <shop>/);
    assert.match(help, /--tally-key <key>/);
    const { profile, secret } = merchantFromOptions(
      {
        id: 'M100000099',
        key: 'tally-merchant-key-00000000000000',
        status: '0',
        tallyShop: 'S1',
        tallyKey: 'k'.repeat(16),
      },
      onboardings(channels),
    );
    assert.deepEqual(profile.pay_types['wechat.micro'], { channel: 'tally', account: { shop: 'S1' } });
    assert.deepEqual(secret.channels.tally, { key: 'k'.repeat(16) });
    assert.deepEqual(checkMerchant(channels, profile, secret), []);
    assert.match(checkMerchant(installedChannels, profile, secret).join(';'), /tally/);
  });

  it('the finance catalog has its columns, typed by their kind', () => {
    const columns = curatedColumnsFor(channels);
    assert.equal(columns.find((c) => c.name === 'tally_fee')?.type, 'decimal(20,8)');
    assert.equal(columns.find((c) => c.name === 'tally_ref')?.type, 'string');
    assert.ok(rawAttributesFor(channels).some(([name]) => name === 'tally_fee'));
    assert.match(readSql('curate-orders', channels), /tally_fee/);
    assert.doesNotMatch(readSql('curate-orders'), /tally_fee/);
  });

  it('pays end to end through its sandbox, settles by the protocol and keeps its fields flat', async () => {
    const merchant = { id: 'M100000099', key: 'tally-merchant-key-00000000000000' };
    const { profile, secret } = merchantFromOptions(
      { ...merchant, status: '0', tallyShop: tallyShop.shop, tallyKey: tallyShop.key },
      onboardings(channels),
    );
    await putMerchant(
      {
        dynamo: new DynamoDBClient(stack().clientConfig('dynamodb')),
        secrets: new SecretsManagerClient(stack().clientConfig('secretsmanager')),
        table: stack().env.MERCHANTS_TABLE as string,
        secretPrefix: stack().env.MERCHANT_SECRET_PREFIX as string,
      },
      profile,
      secret,
    );
    const client = new MicropayClient({ url: stack().apiUrl, merchantId: merchant.id, key: merchant.key });

    const paid = await client.micropay(payment('00', { total_fee: 2500, auth_code: wechatCode('00') }));
    assert.equal(paid.envelope.code, 0);
    assert.equal(paid.envelope.data?.trade_state, 0);
    assert.match(String(paid.envelope.data?.tally_ref), /^T/);

    const refused = await client.micropay(payment('03', { auth_code: wechatCode('03') }));
    assert.equal(refused.envelope.code, 600);
    assert.equal(refused.envelope.err_code, 'DECLINED');

    const paying = await client.micropay(payment('01', { auth_code: wechatCode('01') }));
    assert.equal(paying.envelope.data?.trade_state, 6);
    const tradeId = String(paying.envelope.data?.trade_id);
    await stack().stepFunctions.idle();
    const settled = await client.query({ trade_id: tradeId });
    assert.equal(settled.envelope.data?.trade_state, 0);
    assert.deepEqual(stack().sandbox('tally').callsFor(tradeId), { pay: 1, query: 2, reverse: 0 });

    const record = (await scanOrders(stack())).find((o) => o.trade_id === paid.envelope.data?.trade_id);
    assert.equal(record?.channel, 'tally');
    assert.equal(record?.tally_fee, '0.15');
    assert.deepEqual(
      Object.keys(toMerchantView(record as never, tally.orderFields)).filter((k) => k.startsWith('tally_')),
      ['tally_ref'],
    );
  });
});
