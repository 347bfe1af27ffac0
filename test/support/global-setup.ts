import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { shortRunJvmOptions, startDynamoDbLocal } from '../../local/dynamodb.ts';
import { prepareSandboxKeys } from '../../local/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The DynamoDB Local every integration test file shares (each local stack has tables of its own there). */
    dynamoDbEndpoint: string;
    /** The sandbox PKI and key pairs every integration test file's local stack reads. */
    sandboxKeysDir: string;
  }
}

/**
 * One DynamoDB Local for the whole run: its JVM takes seconds to start, and every integration file used to start
 * its own. Files keep apart by table names. Likewise one set of sandbox keys: a stack makes eight RSA keys.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const keysDir = mkdtempSync(join(tmpdir(), 'micropay-test-keys-'));
  const [dynamo] = await Promise.all([
    startDynamoDbLocal(undefined, { jvmOptions: shortRunJvmOptions }),
    prepareSandboxKeys(keysDir),
  ]);
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  project.provide('sandboxKeysDir', keysDir);
  return async () => {
    await dynamo.stop();
    rmSync(keysDir, { recursive: true, force: true });
  };
}
