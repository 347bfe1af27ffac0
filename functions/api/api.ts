import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { handleApiRequest, type Operation } from '#core/api/handler.ts';
import type { Runtime } from '../shared/runtime.ts';

const operations: Readonly<Record<string, Operation>> = {
  '/v1/micropay': 'micropay',
  '/v1/query': 'query',
  '/v1/reverse': 'reverse',
  '/v1/refund': 'refund',
  '/v1/refund/query': 'refund_query',
};

export type ApiFunction = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The API Gateway (HTTP API) handler for `POST /v1/micropay`, `/v1/query`, `/v1/reverse`, `/v1/refund` and
 * `/v1/refund/query`, over `runtime`.
 *
 * No early timeout (`timeoutEarlyInMillis: 0`): the API bounds its own work (the channel's deadlines, DynamoDB's
 * attempt timeouts). Middy's early-timeout timer, set on every invocation to a different remaining time, cost
 * CPU on every payment. An invocation that still ran out of time would end as it does after middy's early
 * timeout: with no answer, and the order's lease held for the sweep.
 */
export function apiFunction({ logger, ports }: Runtime): ApiFunction {
  async function api(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const operation = operations[event.rawPath] ?? 'query';
    const body = event.isBase64Encoded
      ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
      : (event.body ?? '');
    const envelope = await handleApiRequest(ports, operation, body);
    if (envelope.code !== 0)
      logger.info('request refused', { operation, code: envelope.code, msg: envelope.msg });
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(envelope),
    };
  }
  return middy(api, { timeoutEarlyInMillis: 0 }).use(injectLambdaContext(logger, { resetKeys: true }));
}
