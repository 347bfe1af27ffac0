import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import { AwsServiceError, awsJsonServer } from './aws-json.ts';

interface StoredSecret {
  name: string;
  value: string;
  versionId: string;
  created: number;
}

/**
 * Local Secrets Manager: CreateSecret, PutSecretValue, GetSecretValue, DescribeSecret, DeleteSecret.
 * Secrets live in memory and, when `file` is given, in that JSON file so they survive a restart.
 */
export function secretsManagerServer(region: string, file?: string, onRead?: () => void): Server {
  const secrets = new Map<string, StoredSecret>(
    file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as [string, StoredSecret][]) : [],
  );
  const save = () => {
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify([...secrets]), { mode: 0o600 });
  };
  const arn = (name: string) => `arn:aws:secretsmanager:${region}:000000000000:secret:${name}`;
  const find = (id: unknown): StoredSecret => {
    const key = String(id ?? '');
    const secret = secrets.get(key) ?? [...secrets.values()].find((s) => arn(s.name) === key);
    if (!secret)
      throw new AwsServiceError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    return secret;
  };
  const describe = (s: StoredSecret) => ({ ARN: arn(s.name), Name: s.name, VersionId: s.versionId });

  return awsJsonServer('secretsmanager', 'application/x-amz-json-1.1', {
    CreateSecret: async (input) => {
      const name = String(input.Name ?? '');
      if (secrets.has(name))
        throw new AwsServiceError('ResourceExistsException', `secret ${name} already exists`);
      const secret = {
        name,
        value: String(input.SecretString ?? ''),
        versionId: randomUUID(),
        created: Date.now(),
      };
      secrets.set(name, secret);
      save();
      return describe(secret);
    },
    PutSecretValue: async (input) => {
      const secret = find(input.SecretId);
      secret.value = String(input.SecretString ?? '');
      secret.versionId = randomUUID();
      save();
      return describe(secret);
    },
    GetSecretValue: async (input) => {
      onRead?.();
      const secret = find(input.SecretId);
      return { ...describe(secret), SecretString: secret.value, CreatedDate: secret.created / 1000 };
    },
    DescribeSecret: async (input) => describe(find(input.SecretId)),
    DeleteSecret: async (input) => {
      const secret = find(input.SecretId);
      secrets.delete(secret.name);
      save();
      return describe(secret);
    },
  });
}
