import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** An RSA key pair as PEM: the private key PKCS#8 (as Alipay's key tool writes it for Java), the public SPKI. */
export interface RsaPemPair {
  readonly private_pem: string;
  readonly public_pem: string;
}

const generate = promisify(generateKeyPair);

/**
 * A 2048-bit RSA test key pair for a sandbox, never for an AWS stack: made fresh, or with `dir` kept there
 * (`<name>-private-key.pem`, `<name>-public-key.pem`) and reused, so a persisted local stack's merchants keep
 * working keys across restarts. node:crypto generates it off the main thread.
 */
export async function rsaKeyPair(dir: string | undefined, name: string): Promise<RsaPemPair> {
  const file = dir && join(dir, `${name}-private-key.pem`);
  if (file && existsSync(file)) {
    try {
      const privatePem = readFileSync(file, 'utf8');
      const publicPem = String(
        createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }),
      );
      return { private_pem: privatePem, public_pem: publicPem };
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
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, privateKey, { mode: 0o600 });
    writeFileSync(join(dir, `${name}-public-key.pem`), publicKey);
  }
  return { private_pem: privateKey, public_pem: publicKey };
}
