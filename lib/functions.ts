import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { metricNamespace, metricService } from '../adapters/emf-telemetry.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface LambdaFunctionProps {
  /** Entry file under functions/, e.g. `api/handler.ts`. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** MB; CPU grows with it. @default 512 */
  readonly memorySize?: number;
  /** How long the function's logs are kept. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/** The esbuild settings every gateway function is bundled with (the bench builds with the same). */
export const bundling = {
  format: OutputFormat.ESM,
  target: 'node24',
  minify: true,
  sourceMap: true,
  mainFields: ['module', 'main'],
  externalModules: ['@aws-sdk/*'],
  // ESM bundles of CommonJS dependencies still call require().
  banner: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
};

/** A gateway Lambda: Node 24 on arm64, one esbuild ESM bundle (AWS SDK from the runtime), JSON logs. */
export function lambdaFunction(scope: Construct, id: string, props: LambdaFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
  });
  return new NodejsFunction(scope, id, {
    entry: `${root}functions/${props.entry}`,
    projectRoot: root,
    depsLockFilePath: `${root}package-lock.json`,
    description: props.description,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize ?? 512,
    timeout: props.timeout ?? Duration.seconds(30),
    loggingFormat: LoggingFormat.JSON,
    logGroup,
    environment: {
      ...props.environment,
      POWERTOOLS_SERVICE_NAME: metricService,
      POWERTOOLS_METRICS_NAMESPACE: metricNamespace,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    },
    bundling,
  });
}

/** The ARN pattern of every merchant secret under `prefix` in this stack's account and region. */
export function merchantSecretsArn(scope: Construct, prefix: string): string {
  const stack = Stack.of(scope);
  return `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${prefix}*`;
}
