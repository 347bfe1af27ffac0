import { close, listen } from '#sandbox/server.ts';
import { httpApiServer } from './http-api.ts';

/**
 * The API function alone in its own process, configured by the environment a local stack exports
 * (`LocalStack.env`). Tests kill it at chosen moments to prove no order is stranded.
 */
const { handler } = await import('../functions/api/handler.ts');
const server = httpApiServer(handler);
const url = await listen(server, Number(process.env.PORT ?? '0'));
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.once('SIGTERM', () => void close(server).then(() => process.exit(0)));
