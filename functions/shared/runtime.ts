import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig } from '#adapters/aws-config.ts';
import { DynamoOrderStore } from '#adapters/dynamo-orders.ts';
import {
  emfTelemetry,
  metricNamespace,
  metricService,
  metricsEnabled,
  noTelemetry,
} from '#adapters/emf-telemetry.ts';
import { AwsMerchantDirectory, powertoolsSecrets } from '#adapters/merchant-directory.ts';
import { StepFunctionsWorkflow } from '#adapters/sfn-workflow.ts';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { channelRegistry } from '#core/channels/registry.ts';
import { type Config, channelSettings, loadConfig } from '#core/config.ts';
import type { Ports } from '#core/ports.ts';

/** What a function's handler runs with: its configuration, its logger and the ports over AWS. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly ports: Ports;
}

/**
 * Parses the configuration in `env` and makes the clients, once per container: each handler file calls this
 * at import (cold start), outside the handler. A local stack calls it with its own environment (and channels),
 * so several stacks can run in one process: every client's region, endpoint and credentials come from `env`.
 */
export function createRuntime(
  env: NodeJS.ProcessEnv = process.env,
  channels: readonly ChannelDescriptor[] = installedChannels,
): Runtime {
  const config = loadConfig(env, channels);
  const logger = new Logger({
    serviceName: 'micropay',
    logLevel: env.POWERTOOLS_LOG_LEVEL as LogLevel | undefined,
  });
  const dynamo = documentClient(env);
  const ports: Ports = {
    orders: new DynamoOrderStore(dynamo, {
      ordersTable: config.ORDERS_TABLE,
      wakeupsTable: config.WAKEUPS_TABLE,
      recheckAfterMs: config.SETTLEMENT_LEASE_GRACE_MS,
    }),
    merchants: new AwsMerchantDirectory({
      dynamo,
      secrets: powertoolsSecrets(awsClientConfig(env, 'AWS_ENDPOINT_URL_SECRETS_MANAGER')),
      table: config.MERCHANTS_TABLE,
      secretPrefix: config.MERCHANT_SECRET_PREFIX,
      cacheSeconds: config.MERCHANT_CACHE_SECONDS,
    }),
    channels: channelRegistry(channelSettings(config), channels),
    workflow: new StepFunctionsWorkflow(
      config.SETTLEMENT_STATE_MACHINE_ARN,
      awsClientConfig(env, 'AWS_ENDPOINT_URL_SFN'),
    ),
    clock: { now: () => Date.now() },
    telemetry: metricsEnabled(env)
      ? emfTelemetry({
          namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? metricNamespace,
          service: metricService,
        })
      : noTelemetry,
    log: logger,
    timeScale: config.MICROPAY_TIME_SCALE,
    deadlineScale: config.MICROPAY_DEADLINE_SCALE ?? config.MICROPAY_TIME_SCALE,
    leaseGraceMs: config.SETTLEMENT_LEASE_GRACE_MS,
  };
  return { config, logger, ports };
}

/**
 * One DynamoDB document client per container, tuned as AWS documents it for a Lambda on the payment path: the
 * SDK keeps connections alive by default; three attempts, and no call may hang past a POS's patience (a
 * payment makes three calls). Undefined attributes are left out rather than refused.
 */
export function documentClient(env: NodeJS.ProcessEnv): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...awsClientConfig(env, 'AWS_ENDPOINT_URL_DYNAMODB'),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
