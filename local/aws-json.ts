import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** An error answered the way AWS JSON services do, so SDK clients raise their typed exceptions. */
export class AwsServiceError extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

export type Operation = (input: Record<string, unknown>, req: IncomingMessage) => Promise<unknown>;

/**
 * A minimal AWS JSON-protocol endpoint (`X-Amz-Target: <prefix>.<Operation>`), the wire the SDK's
 * Secrets Manager and Step Functions clients speak. Local mode points `AWS_ENDPOINT_URL_*` at these,
 * so production code runs unchanged.
 */
export function awsJsonServer(
  targetPrefix: string,
  contentType: string,
  operations: Record<string, Operation>,
): Server {
  return createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      const known = error instanceof AwsServiceError;
      send(res, known ? error.status : 500, {
        __type: known ? error.type : 'InternalFailure',
        message: error instanceof Error ? error.message : String(error),
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const name = target.startsWith(`${targetPrefix}.`) ? target.slice(targetPrefix.length + 1) : '';
    const operation = operations[name];
    if (!operation)
      throw new AwsServiceError('UnknownOperationException', `operation ${target} is not emulated`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const input = chunks.length
      ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
      : {};
    const output = await operation(input, req);
    if (!res.destroyed) send(res, 200, output ?? {});
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': contentType }).end(JSON.stringify(body));
  }
}
