import type { ChannelAccount, ChannelCredentials, ChannelDescriptor } from '#core/channels/channel.ts';
import { tallyClient } from './client.ts';

/** The test-only fifth channel, added as docs/adding-a-channel.md says: this folder and its sandbox. */
export const tally: ChannelDescriptor = {
  name: 'tally',
  title: 'Tally Pay (test only)',
  payTypes: ['wechat.micro'],
  endpoint: { variable: 'TALLY_URL', url: 'https://api.tally.invalid' },
  validateSetup,
  orderFields: [
    { name: 'tally_ref', kind: 'text', comment: "Tally's own reference of the payment", view: 'as-is' },
    { name: 'tally_fee', kind: 'decimal', comment: "Tally's fee on the payment, in yuan as Tally wrote it" },
  ],
  onboarding: {
    trigger: '--tally-shop',
    flags: [
      {
        flag: '--tally-shop <shop>',
        description: 'Tally shop id (routes wechat.micro through Tally)',
        into: 'account.shop',
      },
      { flag: '--tally-key <key>', description: 'the HMAC key Tally issued', into: 'credentials.key' },
    ],
  },
  sandbox: 'tally',
  create: tallyClient,
};

function validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
  const problems: string[] = [];
  if (!account.shop) problems.push('tally account needs shop');
  if ((credentials.key ?? '').length < 16)
    problems.push('tally credentials need key (at least 16 characters)');
  return problems;
}
