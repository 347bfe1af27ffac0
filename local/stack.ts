import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readSettlementAsl, substitute } from '#adapters/asl.ts';
import { type AwsClientConfig, awsClientConfig } from '#adapters/aws-config.ts';
import { metricNamespace } from '#adapters/emf-telemetry.ts';
import { putMerchant } from '#adapters/merchant-admin.ts';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import type { MerchantSecret } from '#core/merchants.ts';
import type { SweepReport } from '#core/settlement/sweep.ts';
import {
  createSandboxPki,
  pkiDirIn,
  type RunningSandbox,
  type SandboxStarter,
  sandboxMerchants,
  sandboxPkiIn,
  sandboxStarters,
} from '#sandbox/index.ts';
import { close, listen } from '#sandbox/server.ts';
import { apiFunction } from '../functions/api/api.ts';
import { settleFunction } from '../functions/settle/settle.ts';
import { createRuntime } from '../functions/shared/runtime.ts';
import { sweepFunction } from '../functions/sweep/sweep.ts';
import { createTables, startDynamoDbLocal } from './dynamodb.ts';
import { httpApiServer } from './http-api.ts';
import type { Meter } from './meter.ts';
import { secretsManagerServer } from './secrets-manager.ts';
import { type LocalFunction, LocalStepFunctions, lambdaContext } from './step-functions.ts';

export interface LocalStackOptions {
  /** API port; 0 picks a free one. @default 3000 */
  readonly port?: number;
  /** MICROPAY_TIME_SCALE: protocol waits. @default 1 */
  readonly timeScale?: number;
  /**
   * MICROPAY_DEADLINE_SCALE: channel call deadlines, and with them the lease grace, the sweep's period and how
   * long a sandbox's "does not answer" hangs. @default the time scale
   */
  readonly deadlineScale?: number;
  /** Where DynamoDB Local, the local secrets and the sandbox PKI (`certs/`) are kept; in memory when absent. */
  readonly dataDir?: string;
  /**
   * Where the sandbox PKI (`certs/`) and the sandboxes' key pairs are kept, if not in `dataDir`: the test suite
   * makes them once (`prepareSandboxKeys`) for all its files. @default dataDir
   */
  readonly keysDir?: string;
  /** Validate the settlement ASL at start (the infra tests validate the same file). @default true */
  readonly validateAsl?: boolean;
  /** How often the sweep runs. @default 60 s × deadline scale, at least 200 ms */
  readonly sweepIntervalMs?: number;
  /** SETTLEMENT_LEASE_GRACE_MS. @default 60 s × deadline scale, at least 1 s */
  readonly leaseGraceMs?: number;
  /** Powertools log level of the handlers. @default WARN */
  readonly logLevel?: string;
  /** Counts what the run consumes in billed units (the bench's cost table); nothing is counted when absent. */
  readonly meter?: Meter;
  /**
   * A DynamoDB Local already running (the test suite starts one for all its files), with `tablePrefix` giving
   * this stack tables of its own there. @default a DynamoDB Local of this stack's own
   */
  readonly dynamoDbEndpoint?: string;
  /** Prefix of the table names. @default 'micropay' */
  readonly tablePrefix?: string;
  /** The channels the gateway speaks, each played by its sandbox. @default the installed ones */
  readonly channels?: readonly ChannelDescriptor[];
  /** The sandbox starters, by the name a descriptor gives. @default `sandbox/index.ts`'s */
  readonly sandboxStarters?: Readonly<Record<string, SandboxStarter>>;
}

/** A sandbox the local stack runs, and the channel it plays. */
export interface LocalSandbox extends RunningSandbox {
  readonly channel: string;
}

/** The sandboxes' test PKI, as the gateway and tests see it. */
export interface LocalPki {
  /** The test CA; the gateway trusts it beside the public roots (`CHANNEL_EXTRA_CA_PEM`). */
  readonly caPem: string;
  /** Where the PEMs are kept (`<dataDir>/certs`); undefined when in memory. */
  readonly dir?: string;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly pki: LocalPki;
  /** The environment the handlers run with (endpoints, tables, scale): what a separate API process needs. */
  readonly env: Readonly<Record<string, string>>;
  /** The running sandbox channels, in the order they were started. */
  readonly sandboxes: readonly LocalSandbox[];
  /** The sandbox of one channel; throws when the stack runs none. */
  sandbox(channel: string): LocalSandbox;
  /** How an AWS SDK client reaches this stack's DynamoDB Local, Step Functions or Secrets Manager endpoint. */
  clientConfig(service: 'dynamodb' | 'sfn' | 'secretsmanager'): AwsClientConfig;
  /** What every sandbox merchant's secret holds, as written for this run (with certificates and key pairs). */
  readonly merchantSecrets: Readonly<Record<string, MerchantSecret>>;
  readonly stepFunctions: LocalStepFunctions;
  /** What the run consumed in billed units, when started with a meter. */
  readonly meter?: Meter;
  sweepNow(): Promise<SweepReport>;
  stop(): Promise<void>;
}

export const localRegion = 'us-east-1';
const account = '000000000000';
const settleFunctionArn = `arn:aws:lambda:${localRegion}:${account}:function:micropay-settle`;
const stateMachineArn = `arn:aws:states:${localRegion}:${account}:stateMachine:micropay-settlement`;

/**
 * The whole gateway on one machine (SPEC section 6): DynamoDB Local, local Secrets Manager and Step
 * Functions endpoints, the WeChat sandbox over HTTPS with its test PKI (the gateway trusts the test CA and holds
 * the sandbox account's client certificate), the API on `port`, and the sweep on a timer. The handlers are the
 * production ones; only endpoints differ.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const timeScale = options.timeScale ?? 1;
  const deadlineScale = options.deadlineScale ?? timeScale;
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const meter = options.meter;
    const dynamo = options.dynamoDbEndpoint
      ? { endpoint: options.dynamoDbEndpoint }
      : await startDynamoDbLocal(options.dataDir && join(options.dataDir, 'dynamodb'));
    if ('stop' in dynamo) stops.push(dynamo.stop);
    const prefix = options.tablePrefix ?? 'micropay';
    let dynamoEndpoint = dynamo.endpoint;
    if (meter) {
      const proxy = await meter.dynamoProxy(dynamo.endpoint);
      stops.push(() => close(proxy.server));
      dynamoEndpoint = proxy.url;
    }
    const secretsServer = secretsManagerServer(
      localRegion,
      options.dataDir && join(options.dataDir, 'secrets.json'),
      meter &&
        (() => {
          meter.secretReads += 1;
        }),
    );
    const secretsUrl = await listen(secretsServer);
    stops.push(() => close(secretsServer));
    const keysDir = options.keysDir ?? options.dataDir;
    const certsDir = keysDir && pkiDirIn(keysDir);
    const sandboxPki = createSandboxPki(certsDir);
    const pki: LocalPki = { caPem: sandboxPki.caPem, dir: certsDir };
    const channels = options.channels ?? installedChannels;
    const sandboxes: LocalSandbox[] = [];
    for (const channel of channels) {
      const start = startersOf(options)[channel.sandbox];
      if (!start) throw new Error(`no sandbox ${channel.sandbox} for channel ${channel.name}`);
      const sandbox = await start({ deadlineScale, pki: sandboxPki, dataDir: keysDir });
      sandboxes.push({ ...sandbox, channel: channel.name });
      stops.push(() => sandbox.close());
    }

    // The Step Functions endpoint must exist before the runtime is made; its functions come later.
    const functions: Record<string, LocalFunction> = {};
    const definition = JSON.parse(
      substitute(readSettlementAsl(), { SettleFunctionArn: settleFunctionArn }),
    ) as object;
    const lazySettle: LocalFunction = (event, context) => {
      const settle = functions.settle;
      if (!settle) throw new Error('settle function not loaded');
      return settle(event, context);
    };
    const stepFunctions = new LocalStepFunctions({
      region: localRegion,
      definitions: { [stateMachineArn]: definition },
      functions: { [settleFunctionArn]: lazySettle },
      timeScale,
      validate: options.validateAsl,
      onExecutionMetered: meter && ((execution) => meter.executions.push(execution)),
    });
    const sfnUrl = await listen(stepFunctions.server);
    stops.push(async () => {
      stepFunctions.stopAll();
      await close(stepFunctions.server);
    });

    const env: Record<string, string> = {
      AWS_REGION: localRegion,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
      AWS_ENDPOINT_URL_SFN: sfnUrl,
      ORDERS_TABLE: `${prefix}-orders`,
      WAKEUPS_TABLE: `${prefix}-wakeups`,
      MERCHANTS_TABLE: `${prefix}-merchants`,
      SETTLEMENT_STATE_MACHINE_ARN: stateMachineArn,
      MERCHANT_SECRET_PREFIX: 'micropay/merchants/',
      // Each channel's endpoint variable points at its sandbox.
      ...Object.fromEntries(
        channels.map((channel, i) => [channel.endpoint.variable, sandboxes[i]?.url ?? '']),
      ),
      CHANNEL_EXTRA_CA_PEM: pki.caPem,
      MICROPAY_TIME_SCALE: String(timeScale),
      MICROPAY_DEADLINE_SCALE: String(deadlineScale),
      SETTLEMENT_LEASE_GRACE_MS: String(
        options.leaseGraceMs ?? Math.max(1_000, Math.round(60_000 * deadlineScale)),
      ),
      MERCHANT_CACHE_SECONDS: '5',
      POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'WARN',
      POWERTOOLS_METRICS_NAMESPACE: metricNamespace,
      POWERTOOLS_DEV: 'true',
    };
    const endpoints = {
      dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
      sfn: 'AWS_ENDPOINT_URL_SFN',
      secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    } as const;
    const clientConfig = (service: keyof typeof endpoints) => awsClientConfig(env, endpoints[service]);
    const dynamoClient = new DynamoDBClient(clientConfig('dynamodb'));
    const secretsClient = new SecretsManagerClient(clientConfig('secretsmanager'));
    await createTables(dynamoClient, {
      orders: env.ORDERS_TABLE as string,
      wakeups: env.WAKEUPS_TABLE as string,
      merchants: env.MERCHANTS_TABLE as string,
    });
    const merchantSecrets: Record<string, MerchantSecret> = {};
    for (const { profile, secret } of sandboxMerchants) {
      const withRunCredentials = withSandboxCredentials(secret, sandboxes);
      merchantSecrets[profile.merchant_id] = withRunCredentials;
      await putMerchant(
        {
          dynamo: dynamoClient,
          secrets: secretsClient,
          table: env.MERCHANTS_TABLE as string,
          secretPrefix: 'micropay/merchants/',
        },
        profile,
        withRunCredentials,
      );
    }

    // The stack's own runtime, from its own environment: several stacks can run in one process (the integration
    // tests run their files in a few shared processes), and none changes process.env.
    const runtime = createRuntime(env, channels);
    const api = apiFunction(runtime);
    const settle = settleFunction(runtime);
    const sweep = sweepFunction(runtime);
    const metered = <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
      meter ? (...args: A) => meter.time(name, () => fn(...args)) : fn;
    functions.settle = metered('settle', settle as LocalFunction);
    const sweepNow = metered('sweep', () => sweep(undefined, lambdaContext('micropay-sweep')));
    const apiHandler = metered('api', api);
    const apiServer = httpApiServer(
      meter
        ? (event, context) => {
            meter.apiRequests += 1;
            return apiHandler(event, context);
          }
        : apiHandler,
    );
    const apiUrl = await listen(apiServer, options.port ?? 3000);
    stops.push(() => close(apiServer));

    const sweepEvery = options.sweepIntervalMs ?? Math.max(200, Math.round(60_000 * deadlineScale));
    let sweeping = false;
    const timer = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      sweepNow()
        .catch(() => {})
        .finally(() => {
          sweeping = false;
        });
    }, sweepEvery);
    stops.push(async () => clearInterval(timer));

    const sandbox = (channel: string) => {
      const found = sandboxes.find((s) => s.channel === channel);
      if (!found) throw new Error(`the local stack runs no ${channel} sandbox`);
      return found;
    };
    return {
      apiUrl,
      pki,
      env,
      sandboxes,
      sandbox,
      clientConfig,
      merchantSecrets,
      stepFunctions,
      meter,
      sweepNow,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** `secret` with each running sandbox's credentials for this run added to that channel's credentials. */
function withSandboxCredentials(secret: MerchantSecret, sandboxes: readonly LocalSandbox[]): MerchantSecret {
  const channels = { ...secret.channels };
  for (const sandbox of sandboxes) {
    channels[sandbox.channel] = { ...channels[sandbox.channel], ...sandbox.credentials };
  }
  return { ...secret, channels };
}

/**
 * Makes, in `keysDir`, every key and certificate a local stack's sandboxes use (the test PKI, WeChat's client
 * certificates, Alipay's and fshows' key pairs), by starting each sandbox once there. Stacks started later with
 * this `keysDir` only read them: the test suite pays for RSA key generation once instead of once per file.
 */
export async function prepareSandboxKeys(keysDir: string): Promise<void> {
  const pki = sandboxPkiIn(keysDir);
  for (const start of Object.values(sandboxStarters)) {
    const sandbox = await start({ deadlineScale: 1, pki, dataDir: keysDir });
    await sandbox.close();
  }
}

function startersOf(options: LocalStackOptions): Readonly<Record<string, SandboxStarter>> {
  return options.sandboxStarters ?? sandboxStarters;
}
