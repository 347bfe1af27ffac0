import { CfnOutput, Duration } from 'aws-cdk-lib';
import { type CfnStage, HttpApi, HttpMethod, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { lambdaFunction } from './functions.ts';

/** The API's routes, by operation. */
export const apiRoutes = {
  micropay: '/v1/micropay',
  query: '/v1/query',
  reverse: '/v1/reverse',
  refund: '/v1/refund',
  refundQuery: '/v1/refund/query',
} as const;

/** Requests per second each route takes (steady `rateLimit`, `burstLimit` at once). */
export type MerchantApiThrottling = Readonly<Partial<Record<keyof typeof apiRoutes, ThrottleSettings>>>;

/** What each route takes unless told otherwise: submits most, reverses (a manual, rare act) least. */
export const defaultThrottling: Readonly<Record<keyof typeof apiRoutes, Required<ThrottleSettings>>> = {
  micropay: { rateLimit: 500, burstLimit: 1000 },
  query: { rateLimit: 500, burstLimit: 1000 },
  reverse: { rateLimit: 50, burstLimit: 100 },
  refund: { rateLimit: 50, burstLimit: 100 },
  refundQuery: { rateLimit: 500, burstLimit: 1000 },
};

export interface MerchantApiProps {
  /** Environment shared by the gateway functions. */
  readonly environment: Readonly<Record<string, string>>;
  /** Requests per second per route. @default defaultThrottling */
  readonly throttling?: MerchantApiThrottling;
  /** How long the function's and the access logs are kept. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/** The merchant API: HTTP API with `POST /v1/micropay`, `/v1/query`, `/v1/reverse`, `/v1/refund`, `/v1/refund/query` on one function. */
export class MerchantApi extends Construct {
  public readonly api: HttpApi;
  public readonly handler: NodejsFunction;
  /** One line per request (no body): who called which route, status, latency. */
  public readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: MerchantApiProps) {
    super(scope, id);
    const retention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    this.handler = lambdaFunction(this, 'Handler', {
      entry: 'api/handler.ts',
      description: 'Merchant API: micropay, query, reverse',
      environment: props.environment,
      // Must outlast the channel's pay deadline (15 s) and stay under API Gateway's 30 s.
      timeout: Duration.seconds(29),
      logRetention: retention,
    });
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Micropay merchant API v1',
      createDefaultStage: false,
    });
    const throttling = { ...defaultThrottling, ...props.throttling };
    const stage = this.api.addStage('Stage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: throttling.micropay,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention });
    const cfnStage = stage.node.defaultChild as CfnStage;
    cfnStage.accessLogSettings = {
      destinationArn: this.accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        time: '$context.requestTime',
        route: '$context.routeKey',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
        integrationLatencyMs: '$context.integrationLatency',
      }),
    };
    cfnStage.routeSettings = Object.fromEntries(
      Object.entries(apiRoutes).map(([operation, path]) => {
        const limits = {
          ...defaultThrottling[operation as keyof typeof apiRoutes],
          ...throttling[operation as keyof typeof apiRoutes],
        };
        return [
          `POST ${path}`,
          { ThrottlingRateLimit: limits.rateLimit, ThrottlingBurstLimit: limits.burstLimit },
        ];
      }),
    );
    const integration = new HttpLambdaIntegration('Handler', this.handler);
    for (const path of Object.values(apiRoutes)) {
      // Route settings name the routes, so the stage must come after them.
      for (const route of this.api.addRoutes({ path, methods: [HttpMethod.POST], integration })) {
        stage.node.addDependency(route);
      }
    }
    new CfnOutput(this, 'Url', { value: this.api.apiEndpoint, description: 'Merchant API base URL' });
  }
}
