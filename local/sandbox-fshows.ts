import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FshowsSandbox } from '#sandbox/fshows.ts';
import type { SandboxCalls, SandboxStarter } from './sandbox-channels.ts';
import { sandboxFshows } from './sandbox-merchants.ts';

/** An RSA key pair (PEM), kept in `dir` when given so a persisted stack's merchants keep working. */
function rsaKeyPair(dir: string | undefined, name: string): { publicKey: string; privateKey: string } {
  const files = dir && {
    publicKey: join(dir, `${name}-public.pem`),
    privateKey: join(dir, `${name}-key.pem`),
  };
  if (files && existsSync(files.publicKey) && existsSync(files.privateKey)) {
    return {
      publicKey: readFileSync(files.publicKey, 'utf8'),
      privateKey: readFileSync(files.privateKey, 'utf8'),
    };
  }
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  if (dir && files) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(files.publicKey, pair.publicKey);
    writeFileSync(files.privateKey, pair.privateKey, { mode: 0o600 });
  }
  return pair;
}

/**
 * Starts the fshows sandbox for M100000005's account, with this run's key pairs: the merchant's request key
 * (the sandbox verifies with its public half) and the platform's answer key (the gateway gets its public half).
 */
export const fshowsStarter: SandboxStarter = async ({ deadlineScale, pki, dataDir }) => {
  const dir = dataDir && join(dataDir, 'fshows');
  const merchant = rsaKeyPair(dir, 'merchant');
  const platform = rsaKeyPair(dir, 'platform');
  const sandbox = new FshowsSandbox({
    accounts: [
      {
        app_id: sandboxFshows.account.app_id,
        public_key_pem: merchant.publicKey,
        store_ids: [sandboxFshows.account.store_id],
      },
    ],
    platform_private_key_pem: platform.privateKey,
    timeScale: deadlineScale,
    pki,
  });
  return {
    channel: 'fshows',
    label: 'fshows sandbox',
    url: await sandbox.listen(),
    paths: 'form POST: fshows.liquidation.wx.trade.pay, .alipay.trade.query, .order.reverse',
    credentials: { private_key_pem: merchant.privateKey, platform_public_key_pem: platform.publicKey },
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo) as unknown as SandboxCalls,
    close: () => sandbox.close(),
  };
};
