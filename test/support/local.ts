import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, inject } from 'vitest';
import * as z from 'zod/mini';
import { envelope } from '#core/api/responses.ts';
import { sandboxMerchants } from '#sandbox/merchants.ts';
import { type ApiAnswer, MicropayClient } from '../../cli/client.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.ts';

/** Time scale the integration tests run the protocol's waits at: the whole table in a few seconds. */
export const testTimeScale = 0.02;
/**
 * Scale of the channel deadlines (and lease grace) in the integration tests: 1/20, so a local call gets 500 ms
 * or more however busy the machine; waits run faster than that, which no protocol rule forbids.
 */
export const testDeadlineScale = 0.05;

/**
 * Starts one local stack (sandboxes, state machine, API) for the test file, stopped after it, on the run's shared
 * DynamoDB Local (test/support/global-setup.ts) with tables of its own.
 */
export function useLocalStack(
  options: Pick<
    LocalStackOptions,
    'leaseGraceMs' | 'sweepIntervalMs' | 'timeScale' | 'logLevel' | 'channels' | 'sandboxStarters'
  > = {},
): () => LocalStack {
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      timeScale: testTimeScale,
      deadlineScale: testDeadlineScale,
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      keysDir: inject('sandboxKeysDir'),
      // test/infra/asl.test.ts validates the same ASL file once.
      validateAsl: false,
      tablePrefix: `test-${randomUUID().slice(0, 8)}`,
      ...options,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  return () => {
    if (!stack) throw new Error('local stack not started');
    return stack;
  };
}

/**
 * A client that also checks every answer of the API against the documented answer schema
 * (`core/api/responses.ts`, the OpenAPI document's), so an answer the document does not describe fails a test.
 */
class CheckedClient extends MicropayClient {
  override async post(path: string, body: unknown, raw = false): Promise<ApiAnswer> {
    const answer = await super.post(path, body, raw);
    if (answer.status === 200) {
      const parsed = z.safeParse(envelope, answer.envelope);
      if (!parsed.success) {
        throw new Error(`answer of ${path} is not as documented: ${JSON.stringify(parsed.error.issues)}`);
      }
    }
    return answer;
  }
}

export function merchantClient(
  stack: LocalStack,
  index = 0,
  signType: 'MD5' | 'HMAC-SHA256' = 'MD5',
): MicropayClient {
  const merchant = sandboxMerchants[index];
  if (!merchant) throw new Error(`no sandbox merchant ${index}`);
  return new CheckedClient({
    url: stack.apiUrl,
    merchantId: merchant.profile.merchant_id,
    key: merchant.secret.api_key,
    signType,
  });
}

let sequence = 0;
/**
 * A fresh mch_trade_id per call, within the API's 32 characters however long the run (the files of a worker
 * share this module, so the sequence keeps counting across them).
 */
export function orderId(prefix = 'T'): string {
  sequence += 1;
  const id = `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${sequence.toString(36)}`;
  if (id.length > 32) throw new Error(`orderId: ${id} is longer than 32 characters; use a shorter prefix`);
  return id;
}

/** A valid WeChat payment code whose last two digits pick the sandbox outcome. */
export function wechatCode(outcome: string): string {
  return `1345678901234567${outcome}`;
}

/** A valid Alipay payment code (18 digits starting 28) whose last two digits pick the sandbox outcome. */
export function alipayCode(outcome: string): string {
  return `2867890123456789${outcome}`;
}

/** A pay type with a sandbox channel behind it, and how to make its payment codes. */
export interface SandboxPayType {
  readonly payType: 'wechat.micro' | 'alipay.micro';
  readonly channel: 'wechat' | 'alipay';
  code(outcome: string): string;
  /** The sandbox's call counts for one order, from the number of pay, query and reverse calls. */
  calls(pay: number, query: number, reverse: number): Record<string, number>;
}

/** Both channels of sandbox merchant M100000001, for tests that run the same way over each. */
export const sandboxPayTypes: readonly SandboxPayType[] = [
  {
    payType: 'wechat.micro',
    channel: 'wechat',
    code: wechatCode,
    calls: (pay, query, reverse) => ({
      micropay: pay,
      orderquery: query,
      reverse,
      refund: 0,
      refundquery: 0,
    }),
  },
  {
    payType: 'alipay.micro',
    channel: 'alipay',
    code: alipayCode,
    calls: (pay, query, reverse) => ({ pay, query, cancel: reverse }),
  },
];

export function payment(
  outcome: string,
  overrides: Record<string, unknown> = {},
  payType: SandboxPayType = sandboxPayTypes[0] as SandboxPayType,
): Record<string, unknown> {
  return {
    pay_type: payType.payType,
    mch_trade_id: orderId(),
    body: 'Sandbox goods',
    total_fee: 101,
    spbill_create_ip: '10.1.2.3',
    auth_code: payType.code(outcome),
    ...overrides,
  };
}

/**
 * Pays once on each channel so the connections (DynamoDB, each sandbox's TLS) are open: at the test time scale a
 * burst of cold handshakes on a busy machine can outlast the 750 ms pay deadline, which is not what tests test.
 */
export async function warmUp(stack: LocalStack): Promise<void> {
  const client = merchantClient(stack);
  for (const payType of sandboxPayTypes) {
    const { envelope } = await client.micropay(payment('00', {}, payType));
    if (envelope.code !== 0)
      throw new Error(`warm-up payment on ${payType.payType} answered ${envelope.code}`);
  }
}

/**
 * What a request could change in a stack, item by item: every order and every wake-up (the sweep's watermark
 * aside: the sweep moves it on its own schedule) in a stable order, and the settlement executions started.
 */
export async function stackState(stack: LocalStack) {
  const client = new DynamoDBClient(stack.clientConfig('dynamodb'));
  const scan = async (table: string | undefined) => {
    const { Items } = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    return (Items ?? [])
      .map((item) => unmarshall(item))
      .map((item) => JSON.stringify(item))
      .sort();
  };
  const orders = await scan(stack.env.ORDERS_TABLE);
  const wakeups = (await scan(stack.env.WAKEUPS_TABLE)).filter((item) => !item.includes('"WATERMARK"'));
  client.destroy();
  return {
    orders,
    wakeups,
    executions: stack.stepFunctions
      .list()
      .map((execution) => execution.name)
      .sort(),
  };
}

export async function scanOrders(stack: LocalStack): Promise<Record<string, unknown>[]> {
  const client = new DynamoDBClient(stack.clientConfig('dynamodb'));
  const { Items } = await client.send(
    new ScanCommand({ TableName: stack.env.ORDERS_TABLE, ConsistentRead: true }),
  );
  client.destroy();
  return (Items ?? []).map((item) => unmarshall(item));
}
