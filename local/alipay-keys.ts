import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** An RSA key pair as PEM: the private key PKCS#8 (as Alipay's key tool writes it for Java), the public SPKI. */
export interface RsaPemPair {
  readonly private_pem: string;
  readonly public_pem: string;
}

/** The Alipay sandbox's key pairs: the sandbox app's (what a merchant holds) and the sandbox's own ("Alipay's"). */
export interface AlipaySandboxKeys {
  readonly app: RsaPemPair;
  readonly alipay: RsaPemPair;
  /** Where they are kept (`<dataDir>/alipay-sandbox`); undefined when in memory. */
  readonly dir?: string;
}

const generate = promisify(generateKeyPair);

/**
 * Test keys for the Alipay sandbox, for the sandbox only (never for an AWS stack): made fresh for each run, or
 * with `dataDir` kept in `<dataDir>/alipay-sandbox/` and reused, so a persisted local stack's merchants keep
 * working keys across restarts. The two pairs are generated side by side (node:crypto runs them off the main
 * thread).
 */
export async function alipaySandboxKeys(dataDir?: string): Promise<AlipaySandboxKeys> {
  const dir = dataDir && join(dataDir, 'alipay-sandbox');
  if (dir) mkdirSync(dir, { recursive: true });
  const [app, alipay] = await Promise.all([pair(dir, 'app'), pair(dir, 'alipay')]);
  return { app, alipay, dir };
}

async function pair(dir: string | undefined, name: string): Promise<RsaPemPair> {
  const file = dir && join(dir, `${name}-private-key.pem`);
  if (file && existsSync(file)) {
    try {
      const privatePem = readFileSync(file, 'utf8');
      const key = createPrivateKey(privatePem);
      return {
        private_pem: privatePem,
        public_pem: String(createPublicKey(key).export({ type: 'spki', format: 'pem' })),
      };
    } catch {
      // Unreadable: make a new pair below.
    }
  }
  const { privateKey, publicKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  if (dir && file) {
    writeFileSync(file, privateKey, { mode: 0o600 });
    writeFileSync(join(dir, `${name}-public-key.pem`), publicKey);
  }
  return { private_pem: privateKey, public_pem: publicKey };
}
