import type { RefundProtocol } from '#core/channels/channel.ts';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { descriptorOf } from '#core/channels/registry.ts';
import type { PayType } from '#core/merchants.ts';
import { sandboxMerchants } from '#sandbox/merchants.ts';
import { MicropayClient } from '../../cli/client.ts';
import type { MeterSnapshot } from '../../local/meter.ts';
import type { LocalStack } from '../../local/stack.ts';
import { lambdaMemoryMb, prices } from './prices.ts';

/** What one payment costs, by service, in dollars, and the counts it came from. */
export interface PaymentCost {
  readonly httpApi: number;
  readonly apiLambda: number;
  readonly dynamo: number;
  readonly secrets: number;
  /** Settlement: the settle function's invocations and durations. */
  readonly settleLambda: number;
  /** Settlement: the state machine, as Express and as Standard. */
  readonly express: number;
  readonly standard: number;
  readonly counts: {
    readonly writeUnits: number;
    readonly readUnits: number;
    readonly apiMs: number;
    readonly settleInvocations: number;
    readonly settleMs: number;
    readonly executions: number;
    readonly transitions: number;
    readonly expressBilledMs: number;
    readonly secretReads: number;
  };
}

const gbSeconds = (ms: number, mb: number) => (ms / 1000) * (mb / 1024);

/** The difference of two meter snapshots, divided over `payments`, priced. */
export function price(before: MeterSnapshot, after: MeterSnapshot, payments: number): PaymentCost {
  const per = (n: number) => n / payments;
  const fn = (name: string) => {
    const a = after.functions[name] ?? { invocations: 0, totalMs: 0 };
    const b = before.functions[name] ?? { invocations: 0, totalMs: 0 };
    return { invocations: a.invocations - b.invocations, ms: a.totalMs - b.totalMs };
  };
  const api = fn('api');
  const settle = fn('settle');
  const executions = after.executions.slice(before.executions.length);
  // Lambda bills each invocation's duration rounded up to the millisecond; Express in 100 ms steps.
  const lambdaCost = (f: { invocations: number; ms: number }) =>
    f.invocations === 0
      ? 0
      : f.invocations * prices.lambdaPerRequest +
        f.invocations * gbSeconds(Math.ceil(f.ms / f.invocations), lambdaMemoryMb) * prices.lambdaPerGbSecond;
  const expressBilledMs = executions.reduce(
    (sum, e) =>
      sum + Math.ceil(e.realDurationMs / prices.expressDurationStepMs) * prices.expressDurationStepMs,
    0,
  );
  const transitions = executions.reduce((sum, e) => sum + e.transitions, 0);
  const writeUnits = after.dynamo.writeUnits - before.dynamo.writeUnits;
  const readUnits = after.dynamo.readUnits - before.dynamo.readUnits;
  const secretReads = after.secretReads - before.secretReads;
  return {
    httpApi: per((after.apiRequests - before.apiRequests) * prices.httpApiPerRequest),
    apiLambda: per(lambdaCost(api)),
    dynamo: per(writeUnits * prices.dynamoPerWriteUnit + readUnits * prices.dynamoPerReadUnit),
    secrets: per(secretReads * prices.secretsPerCall),
    settleLambda: per(lambdaCost(settle)),
    express: per(
      executions.length * prices.expressPerRequest +
        gbSeconds(expressBilledMs, prices.expressMemoryStepMb) * prices.expressPerGbSecond,
    ),
    standard: per(transitions * prices.standardPerTransition),
    counts: {
      writeUnits: per(writeUnits),
      readUnits: per(readUnits),
      apiMs: api.invocations ? api.ms / api.invocations : 0,
      settleInvocations: per(settle.invocations),
      settleMs: settle.invocations ? settle.ms / settle.invocations : 0,
      executions: per(executions.length),
      transitions: per(transitions),
      expressBilledMs: per(expressBilledMs),
      secretReads: per(secretReads),
    },
  };
}

/** Total per payment for a workflow type. */
export function total(cost: PaymentCost, workflow: 'express' | 'standard'): number {
  return cost.httpApi + cost.apiLambda + cost.dynamo + cost.secrets + cost.settleLambda + cost[workflow];
}

/**
 * Runs `payments` payments of one sandbox outcome through a metered local stack (sequentially, so each
 * duration is one request's), waits for their settlement, and prices what they consumed.
 */
export async function measureCost(
  stack: LocalStack,
  outcome: string,
  payments: number,
): Promise<PaymentCost> {
  const meter = stack.meter;
  if (!meter) throw new Error('the local stack runs without a meter');
  const merchant = sandboxMerchants[0];
  if (!merchant) throw new Error('no sandbox merchant');
  const client = new MicropayClient({
    url: stack.apiUrl,
    merchantId: merchant.profile.merchant_id,
    key: merchant.secret.api_key,
  });
  const before = meter.snapshot();
  for (let i = 0; i < payments; i++) {
    const { envelope } = await client.micropay({
      pay_type: 'wechat.micro',
      mch_trade_id: `cost-${outcome}-${process.pid}-${i}`,
      body: 'Bench',
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      auth_code: `1345678901234567${outcome}`,
    });
    if (envelope.code !== 0 && envelope.code !== 600 && envelope.code !== 601) {
      throw new Error(`unexpected answer ${JSON.stringify(envelope).slice(0, 200)}`);
    }
  }
  await stack.stepFunctions.idle();
  return price(before, meter.snapshot(), payments);
}

/** What one refund costs (as `PaymentCost`), and how long `/v1/refund` took. */
export interface RefundCost extends PaymentCost {
  readonly p50Ms: number;
}

/**
 * Pays `refunds` orders (not metered), then refunds each through the metered local stack one at a time with
 * `refund_fee` ending in `suffix` (SPEC section 8's sandbox table), waits until every refund is final, and prices
 * what the refunds consumed.
 */
/** A payment code of each pay type that pays at once in the sandbox (outcome 00). */
const paidAtOnce: Readonly<Record<PayType, string>> = {
  'wechat.micro': '134567890123456700',
  'alipay.micro': '284567890123456700',
};

/** The first sandbox merchant's first pay type whose channel refunds, and that channel's refund table. */
export function refundRoute(): { readonly payType: PayType; readonly protocol: RefundProtocol } {
  for (const [payType, route] of Object.entries(sandboxMerchants[0]?.profile.pay_types ?? {})) {
    const channel = route && descriptorOf(route.channel);
    const protocol = channel?.create({ url: 'https://bench.invalid', http: new ChannelHttp() }).refunds
      ?.protocol;
    if (protocol) return { payType: payType as PayType, protocol };
  }
  throw new Error('no channel of the first sandbox merchant refunds');
}

export async function measureRefundCost(
  stack: LocalStack,
  suffix: string,
  refunds: number,
): Promise<RefundCost> {
  const { payType } = refundRoute();
  const meter = stack.meter;
  if (!meter) throw new Error('the local stack runs without a meter');
  const merchant = sandboxMerchants[0];
  if (!merchant) throw new Error('no sandbox merchant');
  const client = new MicropayClient({
    url: stack.apiUrl,
    merchantId: merchant.profile.merchant_id,
    key: merchant.secret.api_key,
  });
  const tradeIds: string[] = [];
  for (let i = 0; i < refunds; i++) {
    const { envelope } = await client.micropay({
      pay_type: payType,
      mch_trade_id: `rcost-${suffix}-${process.pid}-${i}`,
      body: 'Bench',
      total_fee: 1000,
      spbill_create_ip: '127.0.0.1',
      auth_code: paidAtOnce[payType],
    });
    tradeIds.push(String(envelope.data?.trade_id));
  }
  await stack.stepFunctions.idle();
  const before = meter.snapshot();
  const latencies: number[] = [];
  for (const [i, tradeId] of tradeIds.entries()) {
    const started = performance.now();
    const { envelope } = await client.refund({
      trade_id: tradeId,
      out_refund_no: `rcost-${suffix}-${process.pid}-${i}`,
      refund_fee: Number(`1${suffix}`),
    });
    latencies.push(performance.now() - started);
    if (envelope.code !== 0 && envelope.code !== 600 && envelope.code !== 601) {
      throw new Error(`unexpected answer ${JSON.stringify(envelope).slice(0, 200)}`);
    }
  }
  await stack.stepFunctions.idle();
  latencies.sort((a, b) => a - b);
  return {
    ...price(before, meter.snapshot(), refunds),
    p50Ms: latencies[Math.floor(latencies.length / 2)] ?? 0,
  };
}
