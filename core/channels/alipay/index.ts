import { createPublicKey } from 'node:crypto';
import { alipayClient } from '#core/channels/alipay/client.ts';
import {
  type AlipayProtocolName,
  alipayProtocolNames,
  alipayProtocols,
} from '#core/channels/alipay/protocol.ts';
import { readPrivateKey, readPublicKey, rsa2Sign, rsa2Verify } from '#core/channels/alipay/wire.ts';
import type { ChannelAccount, ChannelCredentials, ChannelDescriptor } from '#core/channels/channel.ts';

const fen = (name: string, what: string) =>
  ({ name, kind: 'fen', comment: `${what}, integer fen (Alipay)`, view: 'yuan' }) as const;

/** Alipay open platform, bar-code payment (当面付, seed 002), in CNY. */
export const alipay: ChannelDescriptor = {
  name: 'alipay',
  title: 'Alipay open platform',
  payTypes: ['alipay.micro'],
  endpoint: { variable: 'ALIPAY_GATEWAY_URL', url: 'https://openapi.alipay.com/gateway.do' },
  settings: {
    ALIPAY_PROTOCOL: {
      values: alipayProtocolNames,
      description:
        "Alipay's settlement table: `seed` (seed 002: 6 queries 5 s apart) or `guidance` (Alipay's: 3–6 s for ~60 s)",
    },
  },
  validateSetup,
  // Alipay's amounts are yuan on the wire; the order keeps them as integers of fen, converted exactly.
  orderFields: [
    {
      name: 'buyer_logon_id',
      kind: 'text',
      comment: "the buyer's Alipay account, masked",
      finance: false,
      view: 'as-is',
    },
    {
      name: 'buyer_user_id',
      kind: 'text',
      comment: "the buyer's Alipay user id",
      finance: false,
      view: 'as-is',
    },
    fen('buyer_pay_amount', 'paid by the buyer'),
    fen('invoice_amount', 'invoiceable amount'),
    fen('point_amount', 'paid by points'),
    fen('receipt_amount', 'received by the merchant'),
    {
      name: 'fund_bill_list',
      kind: 'text',
      comment: 'how the buyer paid (JSON text, as Alipay sent it)',
      finance: false,
      view: 'as-is',
    },
  ],
  onboarding: {
    trigger: '--alipay-app-id',
    flags: [
      {
        flag: '--alipay-app-id <app_id>',
        description: 'Alipay app_id (configures the Alipay open platform for alipay.micro)',
        into: 'account.app_id',
      },
      {
        flag: '--alipay-seller-id <id>',
        description: "Alipay seller id (2088…; default: the app's own account)",
        into: 'account.seller_id',
      },
      {
        flag: '--alipay-private-key <file>',
        description: "the app's RSA2 private key, PEM (PKCS#8 or PKCS#1)",
        into: 'credentials.app_private_key_pem',
        file: true,
      },
      {
        flag: '--alipay-public-key <file>',
        description: "Alipay's public key for the app (支付宝公钥), PEM",
        into: 'credentials.alipay_public_key_pem',
        file: true,
      },
      {
        flag: '--alipay-app-public-key <file>',
        description: "the app's public key as uploaded to Alipay: checked to match the private key",
        into: 'credentials.app_public_key_pem',
        file: true,
      },
      {
        flag: '--alipay-app-auth-token <token>',
        description: 'app_auth_token (service-provider mode)',
        into: 'credentials.app_auth_token',
      },
    ],
  },
  sandbox: 'alipay',
  create: ({ url, http, settings }) =>
    alipayClient(
      url,
      http,
      alipayProtocols[settings?.ALIPAY_PROTOCOL as AlipayProtocolName] ?? alipayProtocols.seed,
    ),
};

function validateSetup(account: ChannelAccount, credentials: ChannelCredentials): string[] {
  const problems: string[] = [];
  if (!/^\d{16}$/.test(account.app_id ?? '')) problems.push('alipay account needs app_id (16 digits)');
  if (account.seller_id !== undefined && !/^2088\d{12}$/.test(account.seller_id)) {
    problems.push('alipay seller_id must be an Alipay user id (16 digits starting 2088)');
  }
  if (account.currency !== undefined && account.currency !== 'CNY') {
    problems.push('alipay bar-code payments are in CNY');
  }
  problems.push(...keyProblems(credentials));
  return problems;
}

/**
 * The keys parse, the application's private key is RSA of at least 2048 bits (RSA2) and signs what the app's
 * public key verifies (the one given as `app_public_key_pem`, which is what was uploaded to Alipay, or else the
 * one derived from the private key), and Alipay's public key is not the app's own (a common mix-up that would
 * make every answer fail its check).
 */
function keyProblems(credentials: ChannelCredentials): string[] {
  const privateKey = readPrivateKey(credentials.app_private_key_pem);
  const alipayKey = readPublicKey(credentials.alipay_public_key_pem);
  const problems: string[] = [];
  if (!privateKey) {
    problems.push('alipay credentials need app_private_key_pem: an RSA private key (PKCS#8 or PKCS#1 PEM)');
  } else if ((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    problems.push('alipay app_private_key_pem must be at least 2048 bits for RSA2');
  }
  if (!alipayKey)
    problems.push("alipay credentials need alipay_public_key_pem: Alipay's RSA public key (PEM)");
  if (!privateKey) return problems;
  const appPublicKey =
    credentials.app_public_key_pem === undefined
      ? createPublicKey(privateKey)
      : readPublicKey(credentials.app_public_key_pem);
  const probe = `micropay setup check ${Date.now()}`;
  if (!appPublicKey || !rsa2Verify(probe, rsa2Sign(probe, privateKey), appPublicKey)) {
    problems.push(
      'alipay app_private_key_pem does not sign what the app public key verifies: not a key pair',
    );
  }
  const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (alipayKey?.export({ type: 'spki', format: 'der' }).equals(derived)) {
    problems.push("alipay_public_key_pem is the app's own public key; it must be Alipay's public key");
  }
  return problems;
}
