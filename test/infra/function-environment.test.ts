import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { CfnElement } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { describe, it } from 'vitest';
import { type DeployedStack, deployedStacks } from './deployed-template.ts';

const stacks = deployedStacks();

/** The handler module of each gateway function (lib/functions.ts bundles `functions/<entry>`). */
const entries = ({ gateway }: DeployedStack) => ({
  'api/handler.ts': gateway.merchantApi.handler,
  'settle/handler.ts': gateway.settlement.settleFunction,
  'sweep/handler.ts': gateway.settlement.sweepFunction,
  'reconcile/accounts/handler.ts': gateway.reconciliation.accountsFunction,
  'reconcile/fetch/handler.ts': gateway.reconciliation.fetchFunction,
  'reconcile/record/handler.ts': gateway.reconciliation.recordFunction,
  'reconcile/publish/handler.ts': gateway.reconciliation.publishFunction,
});

/**
 * What each handler's start requires, beside Lambda's AWS_REGION: the gateway's functions their tables and the
 * settlement machine; reconciliation's functions only what each step uses.
 */
const gatewayRequired = ['MERCHANTS_TABLE', 'ORDERS_TABLE', 'SETTLEMENT_STATE_MACHINE_ARN', 'WAKEUPS_TABLE'];
const requiredBy: Readonly<Record<string, readonly string[]>> = {
  'api/handler.ts': gatewayRequired,
  'settle/handler.ts': gatewayRequired,
  'sweep/handler.ts': gatewayRequired,
  'reconcile/accounts/handler.ts': ['MERCHANTS_TABLE'],
  'reconcile/fetch/handler.ts': ['MERCHANTS_TABLE', 'STATEMENTS_BUCKET'],
  'reconcile/record/handler.ts': ['STATEMENTS_BUCKET'],
  'reconcile/publish/handler.ts': [],
};

interface FunctionUnderTest {
  readonly stack: string;
  readonly entry: string;
  readonly logicalId: string;
  /** Environment.Variables of the template, resolved. */
  readonly variables: Readonly<Record<string, string>>;
  /** What the function's process has: Lambda's own variables, the template's, and local endpoints. */
  readonly env: Readonly<Record<string, string>>;
}

/** A 127.0.0.1 port nothing listens on: any AWS call the runtime made would be refused, never sent to AWS. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const nowhere = `http://127.0.0.1:${await closedPort()}`;

const functions: FunctionUnderTest[] = stacks.flatMap((deployed) =>
  Object.entries(entries(deployed)).map(([entry, fn]) => {
    const logicalId = deployed.stack.getLogicalId(fn.node.defaultChild as CfnFunction);
    const properties = deployed.resources[logicalId]?.Properties ?? {};
    const variables = deployed.resolve(
      (properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
    ) as Record<string, string>;
    const name = deployed.resolve({ Ref: logicalId }) as string;
    const logging = deployed.resolve(properties.LoggingConfig ?? {}) as {
      LogGroup?: string;
      LogFormat?: string;
    };
    const region = deployed.stack.region;
    // What Lambda sets in every Node.js function's environment, from the function's own configuration.
    const lambda = {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${String(properties.Runtime)}`,
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(properties.MemorySize ?? 128),
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: logging.LogGroup ?? `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef',
      AWS_LAMBDA_LOG_FORMAT: logging.LogFormat ?? 'Text',
      AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
      AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEEXAMPLE00',
      AWS_SECRET_ACCESS_KEY: 'fake/secret/access/key/for/local/tests00',
      AWS_SESSION_TOKEN: 'fake-session-token',
      LAMBDA_TASK_ROOT: '/var/task',
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      TZ: ':UTC',
      _HANDLER: String(properties.Handler),
    };
    const local = {
      AWS_ENDPOINT_URL: nowhere,
      AWS_ENDPOINT_URL_DYNAMODB: nowhere,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: nowhere,
      AWS_ENDPOINT_URL_SFN: nowhere,
      AWS_ENDPOINT_URL_S3: nowhere,
    };
    return {
      stack: deployed.stack.stackName,
      entry,
      logicalId,
      variables,
      env: { ...lambda, ...variables, ...local },
    };
  }),
);

let starts = 0;
/**
 * Imports the function's handler module with `env` as the process environment, as Lambda does at a cold
 * start: the module calls createRuntime(), which parses the configuration and makes the clients. A query on
 * the import makes a new instance of the module (its imports are shared), so each start runs it again.
 */
async function start(entry: string, env: Readonly<Record<string, string>>): Promise<unknown> {
  const saved = process.env;
  process.env = { ...env };
  try {
    starts += 1;
    const url = new URL(`../../functions/${entry}?start=${starts}`, import.meta.url).href;
    const module = (await import(/* @vite-ignore */ url)) as { handler: unknown };
    return module.handler;
  } finally {
    process.env = saved;
  }
}

/** Lambda refuses a function whose environment sets one of these (they are its own). */
const reserved = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
];

describe('each function of the deployed stacks, started with the environment its template gives it', () => {
  it('knows the handler module of every function in each template, and a function for every handler', () => {
    const handlerModules = (
      readdirSync(new URL('../../functions/', import.meta.url), { recursive: true }) as string[]
    ).filter((path) => path === 'handler.ts' || path.endsWith('/handler.ts'));
    for (const deployed of stacks) {
      assert.deepEqual(Object.keys(entries(deployed)).sort(), handlerModules.sort());
      const inTemplate = Object.entries(deployed.resources)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
        .map(([id]) => id)
        .sort();
      const known = functions.filter((f) => f.stack === deployed.stack.stackName).map((f) => f.logicalId);
      assert.deepEqual(
        inTemplate,
        known.sort(),
        `${deployed.stack.stackName}: every function is started here`,
      );
    }
  });

  it('gives each a deployable environment: plain strings, none of Lambda’s reserved names, under 4 KB', () => {
    for (const { stack, entry, variables } of functions) {
      const where = `${stack} ${entry}`;
      for (const [name, value] of Object.entries(variables)) {
        assert.equal(typeof value, 'string', `${where}: ${name} resolves to a string`);
        assert.ok(!reserved.includes(name), `${where}: ${name} is reserved by Lambda`);
      }
      const size = Object.entries(variables).reduce((n, [k, v]) => n + Buffer.byteLength(k + v), 0);
      assert.ok(size <= 4096, `${where}: ${size} bytes of variables (Lambda allows 4 KB)`);
    }
  });

  it('names the resources the stack deploys: each table, the settlement state machine, the exports bucket', () => {
    for (const deployed of stacks) {
      const { tables, settlement, finance } = deployed.gateway;
      const physical = (construct: IConstruct) =>
        deployed.resolve({ Ref: deployed.stack.getLogicalId(construct.node.defaultChild as CfnElement) });
      const expected: Record<string, unknown> = {
        ORDERS_TABLE: physical(tables.orders),
        WAKEUPS_TABLE: physical(tables.wakeups),
        MERCHANTS_TABLE: physical(tables.merchants),
        // The functions name it by its ARN, built from its name (no dependency cycle): the Ref gives the real one.
        SETTLEMENT_STATE_MACHINE_ARN: physical(settlement.stateMachine),
        STATEMENTS_BUCKET: physical(finance.bucket),
      };
      for (const { stack, entry, variables } of functions.filter((f) => f.stack === deployed.stack.stackName))
        for (const [name, value] of Object.entries(expected))
          if (variables[name] !== undefined || requiredBy[entry]?.includes(name))
            assert.equal(variables[name], value, `${stack} ${entry}: ${name}`);
    }
  });

  it('starts each handler module, its configuration and clients made without a missing variable', async () => {
    for (const { stack, entry, env } of functions) {
      const handler = await start(entry, env).catch((error: Error) =>
        assert.fail(`${stack} ${entry} does not start: ${error.message}`),
      );
      assert.equal(typeof handler, 'function', `${stack} ${entry} exports its handler`);
    }
  });

  it('does not start when a variable the runtime requires is missing, and names it', async () => {
    // Each variable left out in turn: those whose absence stops the start are what the runtime requires, and
    // the test above proves the template (or Lambda) gives every one of them.
    for (const { stack, entry, env } of functions) {
      const required: string[] = [];
      for (const name of Object.keys(env)) {
        const { [name]: _, ...without } = env;
        const failure = await start(entry, without).then(
          () => undefined,
          (error: Error) => error,
        );
        if (!failure) continue;
        assert.match(failure.message, new RegExp(`invalid configuration: ${name}: is required`), stack);
        required.push(name);
      }
      assert.deepEqual(
        required.sort(),
        ['AWS_REGION', ...(requiredBy[entry] ?? [])].sort(),
        `${stack} ${entry}`,
      );
    }
  });
});
