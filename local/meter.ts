import { createServer, request, type Server } from 'node:http';
import { listen } from '#sandbox/server.ts';

/** Operations of DynamoDB that read, for splitting capacity into read and write units. */
const readOperations = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const capacityOperations = new Set([
  ...readOperations,
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

/** One settlement execution as billed: transitions (Standard) and real-world duration (Express). */
export interface MeteredExecution {
  readonly transitions: number;
  /** Milliseconds the execution would take in the real world: waits unscaled, tasks as measured. */
  readonly realDurationMs: number;
}

/** What a metered function did: how often it ran and for how long. */
export interface MeteredFunction {
  invocations: number;
  totalMs: number;
}

/**
 * Counts what a local run consumes, in the units AWS bills: DynamoDB read and write units as DynamoDB Local
 * reports them (`ReturnConsumedCapacity`), Lambda invocations and durations, API requests, secret reads,
 * and state machine transitions and durations. The bench multiplies these by the price table.
 */
export class Meter {
  readonly dynamo = { readUnits: 0, writeUnits: 0, operations: {} as Record<string, number> };
  readonly functions: Record<string, MeteredFunction> = {};
  readonly executions: MeteredExecution[] = [];
  apiRequests = 0;
  secretReads = 0;

  /** A copy of the counts so far, to subtract from a later one. */
  snapshot(): MeterSnapshot {
    return structuredClone({
      dynamo: this.dynamo,
      functions: this.functions,
      executions: this.executions,
      apiRequests: this.apiRequests,
      secretReads: this.secretReads,
    });
  }

  /** Counts one run of `name` around `run`. */
  async time<T>(name: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } finally {
      const entry = this.functions[name] ?? { invocations: 0, totalMs: 0 };
      this.functions[name] = entry;
      entry.invocations += 1;
      entry.totalMs += performance.now() - started;
    }
  }

  /**
   * A proxy in front of DynamoDB Local that asks every request for its consumed capacity and adds it up, so
   * the production code is measured unchanged. A conditional write DynamoDB refuses is counted as one write
   * unit, as DynamoDB bills it.
   */
  async dynamoProxy(target: string): Promise<{ url: string; server: Server }> {
    const upstream = new URL(target);
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let body = Buffer.concat(chunks);
      if (capacityOperations.has(operation)) {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        input.ReturnConsumedCapacity ??= 'TOTAL';
        body = Buffer.from(JSON.stringify(input));
      }
      this.dynamo.operations[operation] = (this.dynamo.operations[operation] ?? 0) + 1;
      const headers = { ...req.headers, 'content-length': String(body.length), host: upstream.host };
      const forwarded = request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (part: Buffer) => parts.push(part));
          answer.on('end', () => {
            const text = Buffer.concat(parts);
            this.account(operation, answer.statusCode ?? 0, text);
            res.writeHead(answer.statusCode ?? 500, answer.headers).end(text);
          });
        },
      );
      forwarded.on('error', () => res.destroy());
      forwarded.end(body);
    });
    return { url: await listen(server), server };
  }

  private account(operation: string, status: number, body: Buffer): void {
    if (!capacityOperations.has(operation)) return;
    const isRead = readOperations.has(operation);
    if (status !== 200) {
      if (!isRead && body.includes('ConditionalCheckFailed')) this.dynamo.writeUnits += 1;
      return;
    }
    const output = JSON.parse(body.toString('utf8')) as { ConsumedCapacity?: unknown };
    const consumed = output.ConsumedCapacity;
    const entries = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as {
      CapacityUnits?: number;
    }[];
    const units = entries.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
    if (isRead) this.dynamo.readUnits += units;
    else this.dynamo.writeUnits += units;
  }
}

export type MeterSnapshot = Pick<
  Meter,
  'dynamo' | 'functions' | 'executions' | 'apiRequests' | 'secretReads'
>;
