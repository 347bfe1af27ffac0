import { CfnOutput, Duration } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { gatewayFunction } from './functions.ts';

export interface MerchantApiProps {
  /** Environment shared by the gateway functions. */
  readonly environment: Readonly<Record<string, string>>;
  /** Requests per second across the API. @default { rateLimit: 500, burstLimit: 1000 } */
  readonly throttle?: ThrottleSettings;
}

/** The merchant API: HTTP API with `POST /v1/micropay`, `/v1/query`, `/v1/reverse` on one function. */
export class MerchantApi extends Construct {
  public readonly api: HttpApi;
  public readonly handler: NodejsFunction;

  constructor(scope: Construct, id: string, props: MerchantApiProps) {
    super(scope, id);
    this.handler = gatewayFunction(this, 'Handler', {
      entry: 'api/handler.ts',
      description: 'Merchant API: micropay, query, reverse',
      environment: props.environment,
      // Must outlast the channel's pay deadline (15 s) and stay under API Gateway's 30 s.
      timeout: Duration.seconds(29),
    });
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Micropay merchant API v1',
      createDefaultStage: false,
    });
    this.api.addStage('Stage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 500, burstLimit: 1000 },
    });
    const integration = new HttpLambdaIntegration('Handler', this.handler);
    for (const path of ['/v1/micropay', '/v1/query', '/v1/reverse']) {
      this.api.addRoutes({ path, methods: [HttpMethod.POST], integration });
    }
    new CfnOutput(this, 'Url', { value: this.api.apiEndpoint, description: 'Merchant API base URL' });
  }
}
