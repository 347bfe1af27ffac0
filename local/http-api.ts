import { createServer, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { maxBodyBytes } from '#core/api/gateway.ts';
import { lambdaContext } from './step-functions.ts';

export type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const routes = new Set(['/v1/micropay', '/v1/query', '/v1/reverse']);

/**
 * What API Gateway does in front of the API function, on loopback: routes `POST /v1/*`, turns the
 * request into an HTTP API (v2) event, and writes the function's result back. Bodies are read up to just
 * past the API's limit, so an oversize body costs no more memory than that and still gets its envelope.
 */
export function httpApiServer(handler: ApiHandler): Server {
  return createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'POST' || !routes.has(path)) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      if (size <= maxBodyBytes) chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const event = {
      version: '2.0',
      routeKey: `POST ${path}`,
      rawPath: path,
      rawQueryString: '',
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      requestContext: {
        http: {
          method: 'POST',
          path,
          protocol: 'HTTP/1.1',
          sourceIp: req.socket.remoteAddress ?? '',
          userAgent: '',
        },
        requestId: crypto.randomUUID(),
        routeKey: `POST ${path}`,
        stage: '$default',
        timeEpoch: Date.now(),
      },
      body: size > maxBodyBytes ? body.padEnd(maxBodyBytes + 1, ' ') : body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    try {
      const result = await handler(event, lambdaContext('micropay-api'));
      res
        .writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>)
        .end(result.body ?? '');
    } catch {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'Internal Server Error' }));
    }
  });
}
