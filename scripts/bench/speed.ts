import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { installedChannels } from '#core/channels/installed.ts';
import type { PayType } from '#core/merchants.ts';
import { sandboxMerchants } from '#sandbox/merchants.ts';
import { MicropayClient } from '../../cli/client.ts';
import type { LocalStack } from '../../local/stack.ts';
import { median, percentile } from './stats.ts';

/** A server process under test: where it listens, and its CPU time so far (user + system, ms). */
interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Starts a server script in its own process and waits for the `{"url": …}` line it prints. */
async function startServer(script: string, env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    lines.on('line', (line) => {
      if (line.startsWith('{"url"')) resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  // Keep reading what it writes (metrics, logs), as Lambda's log agent would.
  lines.on('line', () => {});
  const ticks = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
  return {
    url,
    child,
    cpuMs: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface SpeedFigures {
  /** From starting the process to its answer to the first payment: a cold start as a POS sees it. */
  readonly firstPaymentMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly concurrentRps: number;
  /** CPU per payment one at a time, as a Lambda container runs them (one invocation at a time). */
  readonly cpuMsPerPayment: number;
  /** CPU per payment with `clients` at once (the cores saturated, contention included). */
  readonly concurrentCpuMsPerPayment: number;
}

/** The API process as deployed: real waits and deadlines (the stack's time scale only speeds up settlement), metrics on. */
function apiProcessEnv(stack: LocalStack): Record<string, string> {
  return {
    ...stack.env,
    MICROPAY_TIME_SCALE: '1',
    MICROPAY_DEADLINE_SCALE: '1',
    SETTLEMENT_LEASE_GRACE_MS: '60000',
    MERCHANT_CACHE_SECONDS: '120',
    POWERTOOLS_DEV: '',
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
}

/** Payments each server makes before it is measured (the same for the gateway and the floor). */
const warmUp = 300;

/** A started server with a payment function: one `/v1/micropay` of outcome 00, its latency in ms. */
interface Paying extends ServerProcess {
  readonly firstPaymentMs: number;
  pay(): Promise<number>;
}

/** A payment code of the sandbox's `00` outcome (pays at once), by the payment method's own prefix. */
const paidAtOnce: Readonly<Record<PayType, string>> = {
  'wechat.micro': '134567890123456700',
  'alipay.micro': '286789012345678900',
};

/** The route the speed comparison pays on: the first sandbox merchant's first pay type. */
function benchRoute(stack: LocalStack) {
  const merchant = sandboxMerchants[0];
  const [payType, route] = Object.entries(merchant?.profile.pay_types ?? {})[0] ?? [];
  const descriptor = installedChannels.find((channel) => channel.name === route?.channel);
  if (!merchant || !payType || !route || !descriptor) throw new Error('no sandbox route to pay on');
  const credentials = stack.merchantSecrets[merchant.profile.merchant_id]?.channels[route.channel] ?? {};
  const url = stack.env[descriptor.endpoint.variable] ?? '';
  return {
    merchant,
    payType: payType as PayType,
    route: { payType, channel: route.channel, url, account: route.account, credentials },
  };
}

/** Starts a server and makes its first payment, timed from the start: a cold start as a POS sees it. */
async function startPaying(
  script: string,
  env: Record<string, string>,
  label: string,
  route: ReturnType<typeof benchRoute>,
): Promise<Paying> {
  const startedAt = performance.now();
  const server = await startServer(script, env);
  const { merchant, payType } = route;
  const client = new MicropayClient({
    url: server.url,
    merchantId: merchant.profile.merchant_id,
    key: merchant.secret.api_key,
  });
  let n = 0;
  const pay = async () => {
    n += 1;
    const started = performance.now();
    const { envelope } = await client.micropay({
      pay_type: payType,
      mch_trade_id: `bench-${label}-${process.pid}-${n}`,
      body: 'Bench',
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      auth_code: paidAtOnce[payType],
    });
    if (envelope.code !== 0 || envelope.data?.trade_state !== 0) {
      throw new Error(`${label}: unexpected answer ${JSON.stringify(envelope).slice(0, 300)}`);
    }
    return performance.now() - started;
  };
  await pay();
  return { ...server, firstPaymentMs: performance.now() - startedAt, pay };
}

interface Sequential {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPerPayment: number;
}

/**
 * Payments one at a time, the servers taking turns payment by payment (which goes first rotates), so that
 * whatever the rest of the machine does in the meantime weighs on all alike: the ratios between them are what is
 * measured, not the machine's speed at the moment each ran.
 */
async function sequentialTurns(servers: readonly Paying[], payments: number): Promise<Sequential[]> {
  const latencies: number[][] = servers.map(() => []);
  const cpuBefore = servers.map((s) => s.cpuMs());
  for (let i = 0; i < payments; i++) {
    for (let k = 0; k < servers.length; k++) {
      const index = (i + k) % servers.length;
      latencies[index]?.push(await (servers[index] as Paying).pay());
    }
  }
  return servers.map((server, index) => {
    const sorted = (latencies[index] ?? []).sort((a, b) => a - b);
    return {
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      cpuMsPerPayment: (server.cpuMs() - (cpuBefore[index] ?? 0)) / payments,
    };
  });
}

/** `payments` payments with `clients` in flight at once on one server: how many, in how long, at what CPU. */
async function burst(server: Paying, payments: number, clients: number) {
  const cpuBefore = server.cpuMs();
  const wallStart = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (done < payments) {
        done += 1;
        await server.pay();
      }
    }),
  );
  return { done, wallMs: performance.now() - wallStart, cpuMs: server.cpuMs() - cpuBefore };
}

/**
 * Throughput and CPU per payment with `clients` payments in flight at once, each server alone on the cores, the
 * servers taking turns in `bursts` bursts (which goes first rotates): as with `sequentialTurns`, a change in the
 * machine's speed during the run weighs on all alike.
 */
async function concurrentTurns(servers: readonly Paying[], payments: number, clients: number, bursts = 4) {
  const totals = servers.map(() => ({ done: 0, wallMs: 0, cpuMs: 0 }));
  for (let b = 0; b < bursts; b++) {
    for (let k = 0; k < servers.length; k++) {
      const index = (b + k) % servers.length;
      const run = await burst(servers[index] as Paying, Math.ceil(payments / bursts), clients);
      const total = totals[index] as { done: number; wallMs: number; cpuMs: number };
      total.done += run.done;
      total.wallMs += run.wallMs;
      total.cpuMs += run.cpuMs;
    }
  }
  return totals.map((t) => ({
    concurrentRps: (t.done / t.wallMs) * 1000,
    concurrentCpuMsPerPayment: t.cpuMs / t.done,
  }));
}

/** The servers compared: the gateway, the floor with the SDK (the targets') and the floor without it (information). */
export type Contender = 'gateway' | 'floor' | 'raw';

/** Gateway ÷ a floor, of one round's figures measured in the same minutes, in turns. */
export interface RoundRatios {
  readonly p50: number;
  readonly cpu: number;
  readonly rps: number;
}

export interface SpeedComparison {
  /** Medians of the rounds; start-up (measured by each server alone) the best of them. */
  readonly figures: Readonly<Record<Contender, SpeedFigures>>;
  /** Per round, the gateway's figures over each floor's. */
  readonly ratios: Readonly<Record<'floor' | 'raw', readonly RoundRatios[]>>;
  readonly clients: number;
}

/** The median of one floor's round ratios: the gateway's cost relative to it, as robust as the rounds allow. */
export function pairedRatio(
  comparison: SpeedComparison,
  figure: keyof RoundRatios,
  against: 'floor' | 'raw' = 'floor',
): number {
  return median(comparison.ratios[against].map((r) => r[figure]));
}

/**
 * The gateway's API process (the production handler behind local/http-api.ts, metrics on as deployed) against
 * the floor server with the SDK and without it, on the same DynamoDB Local and sandbox, in `rounds` rounds after
 * an unmeasured one. Each round starts the three (the order rotates), warms each up with the same payments,
 * measures them one payment at a time in turns (`sequentialTurns`), then at `clients` concurrent payments, each
 * alone on the cores, in turns burst by burst (`concurrentTurns`). Latency, CPU and throughput ratios are taken
 * per round and the median reported. Start-up is the best of the rounds.
 */
export async function compareSpeed(
  stack: LocalStack,
  options: { sequential: number; concurrent: number; clients: number; rounds?: number },
): Promise<SpeedComparison> {
  const rounds = options.rounds ?? 5;
  const route = benchRoute(stack);
  const floorEnv = (mode: 'sdk' | 'raw') => ({
    FLOOR_DYNAMODB: mode,
    FLOOR_DYNAMODB_URL: stack.env.AWS_ENDPOINT_URL_DYNAMODB ?? '',
    FLOOR_CA_PEM: stack.pki.caPem,
    FLOOR_MERCHANT_KEY: route.merchant.secret.api_key,
    FLOOR_ROUTE: JSON.stringify(route.route),
    FLOOR_ORDERS_TABLE: stack.env.ORDERS_TABLE ?? '',
    FLOOR_WAKEUPS_TABLE: stack.env.WAKEUPS_TABLE ?? '',
  });
  const start = (which: Contender, round: number) =>
    which === 'gateway'
      ? startPaying('local/api-process.ts', apiProcessEnv(stack), `gateway${round}`, route)
      : startPaying(
          'scripts/bench/floor-server.ts',
          floorEnv(which === 'floor' ? 'sdk' : 'raw'),
          `${which}${round}`,
          route,
        );
  const contenders: readonly Contender[] = ['gateway', 'floor', 'raw'];
  const turns: Record<Contender, SpeedFigures[]> = { gateway: [], floor: [], raw: [] };
  // Round 0 is not measured: it warms DynamoDB Local's JVM and the sandbox on every server's requests, which
  // would otherwise favour whoever came later.
  for (let round = 0; round <= rounds; round++) {
    const order = contenders.map((_, k) => contenders[(round + k) % contenders.length] as Contender);
    const servers: Paying[] = [];
    try {
      for (const which of order) servers.push(await start(which, round));
      // Warm-up: connections, caches and the JIT. A warm Lambda container serves thousands of payments, so the
      // figures are its steady state; what the first payment costs is `firstPaymentMs` and the cold init.
      for (let i = 0; i < warmUp; i++) for (const server of servers) await server.pay();
      const sequential = await sequentialTurns(servers, options.sequential);
      const concurrent = await concurrentTurns(servers, options.concurrent, options.clients);
      for (const [index, which] of order.entries()) {
        const figures = {
          firstPaymentMs: (servers[index] as Paying).firstPaymentMs,
          ...(sequential[index] as Sequential),
          ...(concurrent[index] as { concurrentRps: number; concurrentCpuMsPerPayment: number }),
        };
        if (round > 0) turns[which].push(figures);
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  }
  const summary = (figures: SpeedFigures[]): SpeedFigures => ({
    firstPaymentMs: Math.min(...figures.map((f) => f.firstPaymentMs)),
    p50Ms: median(figures.map((f) => f.p50Ms)),
    p99Ms: median(figures.map((f) => f.p99Ms)),
    concurrentRps: median(figures.map((f) => f.concurrentRps)),
    cpuMsPerPayment: median(figures.map((f) => f.cpuMsPerPayment)),
    concurrentCpuMsPerPayment: median(figures.map((f) => f.concurrentCpuMsPerPayment)),
  });
  const ratiosAgainst = (floor: 'floor' | 'raw') =>
    turns.gateway.map((g, i) => {
      const f = turns[floor][i] as SpeedFigures;
      return {
        p50: g.p50Ms / f.p50Ms,
        cpu: g.cpuMsPerPayment / f.cpuMsPerPayment,
        rps: g.concurrentRps / f.concurrentRps,
      };
    });
  return {
    figures: { gateway: summary(turns.gateway), floor: summary(turns.floor), raw: summary(turns.raw) },
    ratios: { floor: ratiosAgainst('floor'), raw: ratiosAgainst('raw') },
    clients: options.clients,
  };
}

/** For each installed channel, a sandbox merchant whose route sends one of its pay types there. */
function channelPayments() {
  return installedChannels.flatMap((channel) => {
    for (const [index, { profile }] of sandboxMerchants.entries()) {
      if (profile.status !== 0) continue;
      for (const [payType, route] of Object.entries(profile.pay_types)) {
        if (route?.channel === channel.name)
          return [{ channel: channel.name, merchant: index, payType: payType as PayType }];
      }
    }
    return [];
  });
}

export interface ChannelLatency {
  readonly channel: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** `/v1/micropay` latency of outcome 00 on each channel, one payment at a time, through one API process. */
export async function channelLatencies(stack: LocalStack, payments: number): Promise<ChannelLatency[]> {
  const server = await startServer('local/api-process.ts', apiProcessEnv(stack));
  try {
    const results: ChannelLatency[] = [];
    for (const { channel, merchant: index, payType } of channelPayments()) {
      const merchant = sandboxMerchants[index];
      if (!merchant) throw new Error(`no sandbox merchant ${index}`);
      const client = new MicropayClient({
        url: server.url,
        merchantId: merchant.profile.merchant_id,
        key: merchant.secret.api_key,
      });
      const latencies: number[] = [];
      for (let i = 0; i < payments + 30; i++) {
        const started = performance.now();
        const { envelope } = await client.micropay({
          pay_type: payType,
          mch_trade_id: `lat-${channel}-${process.pid}-${i}`,
          body: 'Bench',
          total_fee: 1,
          spbill_create_ip: '127.0.0.1',
          auth_code: paidAtOnce[payType],
        });
        if (envelope.code !== 0 || envelope.data?.trade_state !== 0) {
          throw new Error(`${channel}: unexpected answer ${JSON.stringify(envelope).slice(0, 300)}`);
        }
        if (i >= 30) latencies.push(performance.now() - started); // the first 30 warm up
      }
      latencies.sort((a, b) => a - b);
      results.push({ channel, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) });
    }
    return results;
  } finally {
    await server.stop();
  }
}
