import {
  constants,
  createPrivateKey,
  generateKeyPairSync,
  privateEncrypt,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Forge from 'node-forge';

/** A certificate and its private key, PEM (the key PKCS#8, as WeChat's `apiclient_key.pem`). */
export interface PemPair {
  readonly cert_pem: string;
  readonly key_pem: string;
}

/** A WeChat API client certificate: PEMs, and the PKCS#12 (`apiclient_cert.p12`) whose passphrase is the mch_id. */
export interface ClientCertificate extends PemPair {
  readonly pfx: Buffer;
}

/** The sandbox's test PKI: a CA, the sandbox's server certificate, and client certificates per `mch_id`. */
export interface SandboxPki {
  /** The test CA's certificate: what the gateway (`CHANNEL_EXTRA_CA_PEM`) and tests trust. */
  readonly caPem: string;
  /** For 127.0.0.1 and localhost, signed by the CA. */
  readonly server: PemPair;
  /**
   * The client certificate for `mchId` (CN = mch_id) signed by the CA: issued once per PKI, and kept in its
   * directory if it has one (`client-<mch_id>.pem`, `client-<mch_id>-key.pem` and the PKCS#12,
   * `client-<mch_id>-<fingerprint>.p12`).
   */
  issueClientCertificate(mchId: string): ClientCertificate;
}

// Built from here, never from the parsed CA: forge reads a UTF-8 name back as raw bytes.
const caSubject = (): Forge.pki.CertificateField[] => [
  {
    name: 'commonName',
    value: 'Micropay sandbox test CA — not for production',
    valueTagClass: forge().asn1.Type.UTF8 as unknown as Forge.pki.CertificateField['valueTagClass'],
  },
];
const day = 24 * 3600 * 1000;

const requireHere = createRequire(import.meta.url);
let forgeModule: typeof Forge | undefined;
/** node-forge, loaded when a certificate or a PKCS#12 must be made: a PKI read back from its directory needs none. */
function forge(): typeof Forge {
  forgeModule ??= requireHere('node-forge') as typeof Forge;
  return forgeModule;
}

/**
 * Creates the sandbox's test PKI. With `dir`, PEMs found there are reused and new ones written there, so a
 * persisted local stack keeps one CA (and merchants keep working client certificates) across restarts;
 * without it everything lives in memory.
 */
export function createSandboxPki(dir?: string): SandboxPki {
  if (dir) mkdirSync(dir, { recursive: true });
  const stored = (name: string, make: () => PemPair, usable: (pair: PemPair) => boolean): PemPair => {
    if (!dir) return make();
    const certFile = join(dir, `${name}.pem`);
    const keyFile = join(dir, `${name}-key.pem`);
    if (existsSync(certFile) && existsSync(keyFile)) {
      const pair = { cert_pem: readFileSync(certFile, 'utf8'), key_pem: readFileSync(keyFile, 'utf8') };
      if (usable(pair)) return pair;
    }
    const pair = make();
    writeFileSync(certFile, pair.cert_pem);
    writeFileSync(keyFile, pair.key_pem, { mode: 0o600 });
    return pair;
  };

  const ca = stored('ca', makeCa, intact);
  const caCert = () => forge().pki.certificateFromPem(ca.cert_pem);
  const caKey = nativeSigner(ca.key_pem);
  const caX509 = new X509Certificate(ca.cert_pem);
  const signedByCa = (pair: PemPair) => {
    const cert = new X509Certificate(pair.cert_pem);
    return intact(pair) && cert.checkIssued(caX509) && cert.verify(caX509.publicKey);
  };
  const clients = new Map<string, ClientCertificate>();
  // The PKCS#12 is kept too (forge's 3DES and key derivation take a fifth of a second), named by the
  // certificate's fingerprint so that a re-issued certificate never meets an old one, and written whole.
  const storedPfx = (pair: PemPair, mchId: string): Buffer => {
    if (!dir) return toPfx(pair, ca.cert_pem, mchId);
    const fingerprint = new X509Certificate(pair.cert_pem).fingerprint256.replaceAll(':', '').slice(0, 16);
    const file = join(dir, `client-${mchId}-${fingerprint.toLowerCase()}.p12`);
    if (existsSync(file)) return readFileSync(file);
    const pfx = toPfx(pair, ca.cert_pem, mchId);
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, pfx, { mode: 0o600 });
    renameSync(partial, file);
    return pfx;
  };

  const server = stored(
    'server',
    () =>
      issue(caCert(), caKey, [{ name: 'commonName', value: 'localhost' }], 825, [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ]),
    signedByCa,
  );

  return {
    caPem: ca.cert_pem,
    server,
    issueClientCertificate(mchId) {
      // mch_id names a file when the PKI is kept on disk.
      if (!/^\w{1,32}$/.test(mchId)) throw new Error(`not a WeChat mch_id: ${mchId}`);
      const known = clients.get(mchId);
      if (known) return known;
      const pair = stored(
        `client-${mchId}`,
        () =>
          issue(
            caCert(),
            caKey,
            [
              { name: 'organizationName', value: 'Micropay sandbox' },
              { name: 'organizationalUnitName', value: 'MMPaySandbox' },
              { name: 'commonName', value: mchId },
            ],
            825,
            [
              { name: 'basicConstraints', cA: false },
              { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
              { name: 'extKeyUsage', clientAuth: true },
            ],
          ),
        (candidate) =>
          signedByCa(candidate) && new X509Certificate(candidate.cert_pem).subject.endsWith(`CN=${mchId}`),
      );
      const client = { ...pair, pfx: storedPfx(pair, mchId) };
      clients.set(mchId, client);
      return client;
    },
  };
}

/** Where a local stack's keys directory (`dataDir`, or the test suite's shared one) keeps the sandbox PKI. */
export function pkiDirIn(keysDir: string): string {
  return join(keysDir, 'certs');
}

/** The sandbox PKI kept in a keys directory: what a test that starts a sandbox alone trusts and presents. */
export function sandboxPkiIn(keysDir: string): SandboxPki {
  return createSandboxPki(pkiDirIn(keysDir));
}

function makeCa(): PemPair {
  const { keyPem, publicKey } = keyPair();
  const cert = forge().pki.createCertificate();
  setBasics(cert, publicKey, caSubject(), caSubject(), 3650);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(nativeSigner(keyPem), forge().md.sha256.create());
  return { cert_pem: forge().pki.certificateToPem(cert), key_pem: keyPem };
}

function issue(
  caCert: Forge.pki.Certificate,
  caKey: Forge.pki.rsa.PrivateKey,
  subject: Forge.pki.CertificateField[],
  days: number,
  extensions: object[],
): PemPair {
  const { keyPem, publicKey } = keyPair();
  const cert = forge().pki.createCertificate();
  setBasics(cert, publicKey, subject, caSubject(), days);
  cert.setExtensions([
    ...extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge().md.sha256.create());
  return { cert_pem: forge().pki.certificateToPem(cert), key_pem: keyPem };
}

/**
 * A random certificate serial as forge takes it (hex): 16 bytes whose first is 0x01–0x7F, so the DER INTEGER is
 * positive and minimal as written. (A serial starting 00 or FF before a byte of the same sign is padding OpenSSL
 * refuses to parse: one certificate in 256 of the old 15 random bytes, and its sandbox failed to start.)
 */
export function certificateSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) % 0x7f) + 1;
  return bytes.toString('hex');
}

function setBasics(
  cert: Forge.pki.Certificate,
  publicKey: Forge.pki.rsa.PublicKey,
  subject: Forge.pki.CertificateField[],
  issuer: Forge.pki.CertificateField[],
  days: number,
): void {
  cert.publicKey = publicKey;
  cert.serialNumber = certificateSerial();
  // Backdated a day so that clock skew between processes never makes a fresh certificate "not yet valid".
  cert.validity.notBefore = new Date(Date.now() - day);
  cert.validity.notAfter = new Date(Date.now() + days * day);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
}

/**
 * The private key as forge's `cert.sign` uses it, signing in node:crypto's native code: forge hands `sign` the
 * digest of the certificate it built, and this answers RSASSA-PKCS1-v1_5 over it (the DigestInfo, padded and
 * raised to the private exponent) instead of forge's JavaScript RSA, which took a fifth of a second a certificate.
 */
function nativeSigner(keyPem: string): Forge.pki.rsa.PrivateKey {
  const key = createPrivateKey(keyPem);
  const sign = (md: Forge.md.MessageDigest): string => {
    const { asn1, pki } = forge();
    const digestInfo = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(
          asn1.Class.UNIVERSAL,
          asn1.Type.OID,
          false,
          asn1.oidToDer(pki.oids[md.algorithm] as string).getBytes(),
        ),
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
      ]),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, md.digest().getBytes()),
    ]);
    const der = Buffer.from(asn1.toDer(digestInfo).getBytes(), 'binary');
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, der).toString('binary');
  };
  return { sign } as unknown as Forge.pki.rsa.PrivateKey;
}

/** node:crypto generates RSA keys in native code, far faster than forge's JavaScript. */
function keyPair(): { keyPem: string; publicKey: Forge.pki.rsa.PublicKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { keyPem: privateKey, publicKey: forge().pki.publicKeyFromPem(publicKey) };
}

/** Readable, the key belongs to the certificate, and still valid for at least a day. */
function intact(pair: PemPair): boolean {
  try {
    const cert = new X509Certificate(pair.cert_pem);
    return (
      cert.checkPrivateKey(createPrivateKey(pair.key_pem)) && Date.parse(cert.validTo) > Date.now() + day
    );
  } catch {
    return false;
  }
}

/** PKCS#12 as WeChat issues it: key, certificate and CA chain, 3DES, passphrase = mch_id. */
function toPfx(pair: PemPair, caPem: string, mchId: string): Buffer {
  const asn1 = forge().pkcs12.toPkcs12Asn1(
    forge().pki.privateKeyFromPem(pair.key_pem),
    [forge().pki.certificateFromPem(pair.cert_pem), forge().pki.certificateFromPem(caPem)],
    mchId,
    { algorithm: '3des', friendlyName: mchId },
  );
  return Buffer.from(forge().asn1.toDer(asn1).getBytes(), 'binary');
}
