import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig } from '#adapters/aws-config.ts';
import {
  emfReconciliationTelemetry,
  metricNamespace,
  metricService,
  metricsEnabled,
  noReconciliationTelemetry,
} from '#adapters/emf-telemetry.ts';
import { AwsMerchantDirectory, powertoolsSecrets } from '#adapters/merchant-directory.ts';
import { S3StatementStore } from '#adapters/s3-statements.ts';
import type { ChannelDescriptor } from '#core/channels/channel.ts';
import { installedChannels } from '#core/channels/installed.ts';
import { channelRegistry } from '#core/channels/registry.ts';
import { channelSettings, loadReconcileConfig } from '#core/config.ts';
import type { ChannelRegistry } from '#core/ports.ts';
import type { ReconciliationTelemetry } from '#core/reconciliation/run.ts';
import { documentClient } from '../shared/runtime.ts';

/**
 * What the reconciliation functions run with, made once per container at cold start (each handler file calls its
 * own factory at import). Each function reads only the variables it uses: the accounts and fetch functions the
 * merchants and channels, the fetch and record functions the bucket, the publish function none.
 */

function loggerOf(env: NodeJS.ProcessEnv): Logger {
  return new Logger({
    serviceName: 'micropay',
    logLevel: env.POWERTOOLS_LOG_LEVEL as LogLevel | undefined,
  });
}

function telemetryOf(env: NodeJS.ProcessEnv): ReconciliationTelemetry {
  return metricsEnabled(env)
    ? emfReconciliationTelemetry({
        namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? metricNamespace,
        service: metricService,
      })
    : noReconciliationTelemetry;
}

function merchantsOf(
  env: NodeJS.ProcessEnv,
  config: { MERCHANTS_TABLE: string; MERCHANT_SECRET_PREFIX: string; MERCHANT_CACHE_SECONDS: number },
): AwsMerchantDirectory {
  return new AwsMerchantDirectory({
    dynamo: documentClient(env),
    secrets: powertoolsSecrets(awsClientConfig(env, 'AWS_ENDPOINT_URL_SECRETS_MANAGER')),
    table: config.MERCHANTS_TABLE,
    secretPrefix: config.MERCHANT_SECRET_PREFIX,
    cacheSeconds: config.MERCHANT_CACHE_SECONDS,
  });
}

/**
 * One S3 client per container; a statement download is one PUT of up to a few hundred MB, so its request may
 * take minutes, and three attempts cover a dropped connection.
 */
function statementStoreOf(env: NodeJS.ProcessEnv, bucket: string): S3StatementStore {
  const s3 = new S3Client({ ...awsClientConfig(env, 'AWS_ENDPOINT_URL_S3'), maxAttempts: 3 });
  return new S3StatementStore({ s3, bucket });
}

/** The accounts function: the merchants (ids, profiles and keys) and the channels. */
export interface AccountsRuntime {
  readonly logger: Logger;
  readonly merchants: AwsMerchantDirectory;
  readonly channels: ChannelRegistry;
}

export function accountsRuntime(
  env: NodeJS.ProcessEnv = process.env,
  channels: readonly ChannelDescriptor[] = installedChannels,
): AccountsRuntime {
  const config = loadReconcileConfig(env, { merchants: true, bucket: false }, channels);
  return {
    logger: loggerOf(env),
    merchants: merchantsOf(env, config),
    channels: channelRegistry(channelSettings(config), channels),
  };
}

/** The fetch function: the merchants and channels, and the statements in the exports bucket. */
export interface FetchRuntime extends AccountsRuntime {
  readonly statements: S3StatementStore;
  readonly deadlineScale: number;
}

export function fetchRuntime(
  env: NodeJS.ProcessEnv = process.env,
  channels: readonly ChannelDescriptor[] = installedChannels,
): FetchRuntime {
  const config = loadReconcileConfig(env, { merchants: true, bucket: true }, channels);
  return {
    logger: loggerOf(env),
    merchants: merchantsOf(env, config),
    channels: channelRegistry(channelSettings(config), channels),
    statements: statementStoreOf(env, config.STATEMENTS_BUCKET),
    deadlineScale: config.MICROPAY_DEADLINE_SCALE ?? 1,
  };
}

/** The record function: the exports bucket (the day's accounts file) and the metrics. */
export interface RecordRuntime {
  readonly logger: Logger;
  readonly statements: S3StatementStore;
  readonly telemetry: ReconciliationTelemetry;
}

export function recordRuntime(env: NodeJS.ProcessEnv = process.env): RecordRuntime {
  const config = loadReconcileConfig(env, { merchants: false, bucket: true });
  return {
    logger: loggerOf(env),
    statements: statementStoreOf(env, config.STATEMENTS_BUCKET),
    telemetry: telemetryOf(env),
  };
}

/** The publish function: the metrics only. */
export interface PublishRuntime {
  readonly logger: Logger;
  readonly telemetry: ReconciliationTelemetry;
}

export function publishRuntime(env: NodeJS.ProcessEnv = process.env): PublishRuntime {
  loadReconcileConfig(env, { merchants: false, bucket: false });
  return { logger: loggerOf(env), telemetry: telemetryOf(env) };
}
