import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Meter } from '../local/meter.ts';
import { startLocalStack } from '../local/stack.ts';
import { bundleSizes, coldInit, functionNames } from './bench/bundles.ts';
import {
  measureCost,
  measureRefundCost,
  type PaymentCost,
  type RefundCost,
  refundRoute,
  total,
} from './bench/cost.ts';
import { prices } from './bench/prices.ts';
import { channelLatencies, compareSpeed, pairedRatio } from './bench/speed.ts';

/**
 * `npm run bench`: the figures the project tracks, each against its target, measured in this run:
 * bundle sizes, cold init against a floor handler, the API process against a floor server written with the same
 * packages on the same DynamoDB Local and sandbox (p50 latency, throughput at 32 clients, CPU per payment), and
 * the cost per
 * million payments from counted operations times the price table (scripts/bench/prices.ts).
 * `-- --quick` runs fewer requests.
 */
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = values.quick;
const out = (line = '') => process.stdout.write(`${line}\n`);
const ratio = (value: number, floor: number) => value / floor;
const verdict = (ok: boolean) => (ok ? 'ok' : 'OVER TARGET');
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const dollars = (x: number) => `$${x.toFixed(2)}`;

out(`micropay bench (${new Date().toISOString()}, Node ${process.version}, ${quick ? 'quick' : 'full'} run)`);

out('\nLambda bundles (esbuild as the CDK app runs it; AWS SDK from the runtime)');
const sizes = await bundleSizes();
for (const fn of functionNames) out(`  ${fn.padEnd(8)} ${kib(sizes[fn] ?? 0).padStart(8)}`);
const largest = Math.max(...Object.values(sizes));
out(`  largest  ${kib(largest).padStart(8)}   target ≤ 300 KiB: ${verdict(largest <= 300 * 1024)}`);

out(
  '\nCold init (fresh process, source maps on, as deployed): api handler vs a handler importing only the DynamoDB client and zod',
);
const cold = await coldInit(quick ? 7 : 15);
const coldRatio = ratio(cold.apiMs, cold.floorMs);
out(
  `  api ${cold.apiMs.toFixed(0)} ms, floor ${cold.floorMs.toFixed(0)} ms: ${coldRatio.toFixed(2)}× (target ≤ 1.10×: ${verdict(coldRatio <= 1.1)})`,
);

const meter = new Meter();
const stack = await startLocalStack({
  port: 0,
  timeScale: 0.01,
  meter,
  sweepIntervalMs: 3_600_000,
  logLevel: 'CRITICAL',
});
try {
  out(
    '\nAPI process vs the floor: the least a careful team would write with the same packages (SDK document client,\n' +
      "  the channel's own client), same writes and channel call, outcome 00, one machine; the three take turns\n" +
      '  payment by payment, then burst by burst at 32 clients; medians of 5 rounds and of their per-round ratios',
  );
  const speed = await compareSpeed(stack, {
    sequential: quick ? 100 : 400,
    concurrent: quick ? 400 : 2000,
    clients: 32,
  });
  const { gateway: g, floor: f, raw: r } = speed.figures;
  const p50 = pairedRatio(speed, 'p50');
  const rps = pairedRatio(speed, 'rps');
  const cpu = pairedRatio(speed, 'cpu');
  const perRound = (figure: 'p50' | 'cpu' | 'rps') =>
    speed.ratios.floor.map((x) => x[figure].toFixed(2)).join(' ');
  out(`  ${''.padEnd(28)} ${'gateway'.padStart(9)} ${'floor'.padStart(9)}   ratio   target`);
  out(
    `  ${'p50 latency, sequential (ms)'.padEnd(28)} ${g.p50Ms.toFixed(2).padStart(9)} ${f.p50Ms.toFixed(2).padStart(9)}   ${p50.toFixed(2)}×  ≤ 1.15×  ${verdict(p50 <= 1.15)}   (rounds: ${perRound('p50')})`,
  );
  out(
    `  ${'p99 latency, sequential (ms)'.padEnd(28)} ${g.p99Ms.toFixed(2).padStart(9)} ${f.p99Ms.toFixed(2).padStart(9)}`,
  );
  out(
    `  ${'start to first payment (ms)'.padEnd(28)} ${g.firstPaymentMs.toFixed(0).padStart(9)} ${f.firstPaymentMs.toFixed(0).padStart(9)}   (start-up and the first payment's lazy loads; TypeScript here, not the bundle)`,
  );
  out(
    `  ${`throughput, ${speed.clients} clients (req/s)`.padEnd(28)} ${g.concurrentRps.toFixed(0).padStart(9)} ${f.concurrentRps.toFixed(0).padStart(9)}   ${rps.toFixed(2)}×  ≥ 0.90×  ${verdict(rps >= 0.9)}   (each alone, in turns, 4 bursts each; rounds: ${perRound('rps')})`,
  );
  out(
    `  ${'CPU per payment (ms)'.padEnd(28)} ${g.cpuMsPerPayment.toFixed(2).padStart(9)} ${f.cpuMsPerPayment.toFixed(2).padStart(9)}   ${cpu.toFixed(2)}×  ≤ 1.30×  ${verdict(cpu <= 1.3)}   (one at a time, as Lambda runs them; rounds: ${perRound('cpu')})`,
  );
  const busyCpu = ratio(g.concurrentCpuMsPerPayment, f.concurrentCpuMsPerPayment);
  out(
    `  ${`CPU per payment, ${speed.clients} clients`.padEnd(28)} ${g.concurrentCpuMsPerPayment.toFixed(2).padStart(9)} ${f.concurrentCpuMsPerPayment.toFixed(2).padStart(9)}   ${busyCpu.toFixed(2)}×            (cores saturated: contention included)`,
  );
  out(
    `  information: the floor without the SDK (DynamoDB's JSON protocol by hand): p50 ${r.p50Ms.toFixed(2)} ms, CPU ${r.cpuMsPerPayment.toFixed(2)} ms, ${r.concurrentRps.toFixed(0)} req/s;` +
      ` the gateway is ${pairedRatio(speed, 'p50', 'raw').toFixed(2)}× its p50, ${pairedRatio(speed, 'cpu', 'raw').toFixed(2)}× its CPU, ${pairedRatio(speed, 'rps', 'raw').toFixed(2)}× its throughput`,
  );

  out('\n/v1/micropay per channel, outcome 00, one payment at a time (API process, sandbox over HTTPS)');
  for (const { channel, p50Ms, p99Ms } of await channelLatencies(stack, quick ? 100 : 300)) {
    out(
      `  ${channel.padEnd(10)} p50 ${p50Ms.toFixed(2).padStart(6)} ms   p99 ${p99Ms.toFixed(2).padStart(6)} ms`,
    );
  }

  out('\nCounted per payment (DynamoDB units as DynamoDB Local reports them; durations measured here)');
  const outcomes: Record<string, PaymentCost> = {};
  const runs: [string, string, number][] = [
    ['00', 'paid at once', quick ? 50 : 200],
    ['01', 'polled: paid at the 2nd query', quick ? 20 : 60],
    ['02', 'polled: never paid, reversed', quick ? 5 : 20],
    ['10', 'polled: reverse keeps failing', quick ? 3 : 10],
  ];
  out(`  ${'outcome'.padEnd(36)} WRU   RRU  api ms  settle calls  transitions  Express billed s`);
  for (const [outcome, label, n] of runs) {
    const cost = await measureCost(stack, outcome, n);
    outcomes[outcome] = cost;
    const c = cost.counts;
    out(
      `  ${`${outcome} ${label}`.padEnd(36)} ${c.writeUnits.toFixed(1).padStart(4)} ${c.readUnits.toFixed(1).padStart(5)} ${c.apiMs.toFixed(1).padStart(7)} ${c.settleInvocations.toFixed(1).padStart(13)} ${c.transitions.toFixed(1).padStart(12)} ${(c.expressBilledMs / 1000).toFixed(1).padStart(17)}`,
    );
  }
  const immediate = outcomes['00'] as PaymentCost;
  const polled = outcomes['01'] as PaymentCost;
  out(
    `\nCost per million payments (prices ${prices.region}, ${prices.asOf}, scripts/bench/prices.ts; polled = outcome 01)`,
  );
  out(`  ${'mix'.padEnd(18)} ${'Express'.padStart(9)} ${'Standard'.padStart(9)}   target (Express)`);
  for (const [label, share, target] of [
    ['all immediate', 0, 3.5],
    ['10 % polled', 0.1, 5],
    ['30 % polled', 0.3, undefined],
  ] as const) {
    const mix = (w: 'express' | 'standard') =>
      1e6 * ((1 - share) * total(immediate, w) + share * total(polled, w));
    const express = mix('express');
    out(
      `  ${label.padEnd(18)} ${dollars(express).padStart(9)} ${dollars(mix('standard')).padStart(9)}   ${target === undefined ? '' : `≤ $${target}: ${verdict(express <= target)}`}`,
    );
  }
  const part = (c: PaymentCost, k: keyof Omit<PaymentCost, 'counts'>) => dollars(1e6 * c[k]).padStart(8);
  out('\n  per million, by service     HTTP API   api λ  DynamoDB  Secrets  settle λ  Express  Standard');
  for (const [label, c] of [
    ['paid at once (00)', immediate],
    ['polled (01)', polled],
  ] as const) {
    out(
      `  ${label.padEnd(26)} ${part(c, 'httpApi')} ${part(c, 'apiLambda')} ${part(c, 'dynamo')}  ${part(c, 'secrets')} ${part(c, 'settleLambda')} ${part(c, 'express')} ${part(c, 'standard')}`,
    );
  }
  out(
    `\nRefunds (/v1/refund on the first sandbox merchant's ${refundRoute().payType}, one at a time; counted per refund)`,
  );
  out(`  ${'refund_fee ends in'.padEnd(40)} WRU   RRU  p50 ms  settle calls  transitions  Express billed s`);
  const refundRuns: [string, string, number][] = [
    ['00', 'accepted, refunded at the first query', quick ? 20 : 100],
    ['01', 'followed: refunded at the 2nd query', quick ? 10 : 40],
  ];
  const refundCosts: Record<string, RefundCost> = {};
  for (const [suffix, label, n] of refundRuns) {
    const cost = await measureRefundCost(stack, suffix, n);
    refundCosts[suffix] = cost;
    const c = cost.counts;
    out(
      `  ${`${suffix} ${label}`.padEnd(40)} ${c.writeUnits.toFixed(1).padStart(4)} ${c.readUnits.toFixed(1).padStart(5)} ${cost.p50Ms.toFixed(1).padStart(7)} ${c.settleInvocations.toFixed(1).padStart(13)} ${c.transitions.toFixed(1).padStart(12)} ${(c.expressBilledMs / 1000).toFixed(1).padStart(17)}`,
    );
  }
  const refunded = refundCosts['00'] as RefundCost;
  const followed = refundCosts['01'] as RefundCost;
  out(
    `  refund p50 ${refunded.p50Ms.toFixed(2)} ms against the floor's payment write path p50 ${f.p50Ms.toFixed(2)} ms: ${ratio(refunded.p50Ms, f.p50Ms).toFixed(2)}× (information: a refund adds the number's binding read and write)`,
  );
  // A refund the channel keeps processing: every query step of the channel's refund table in an hour, each
  // priced as the one extra query step outcome 01 makes over 00 (parked waits add an execution start).
  const { protocol } = refundRoute();
  let elapsed = 0;
  let steps = 0;
  for (let i = 0; elapsed < 3_600_000; i++, steps++) {
    elapsed += protocol.queryDelaysMs[Math.min(i, protocol.queryDelaysMs.length - 1)] as number;
  }
  const perStep = (w: 'express' | 'standard') => Math.max(0, total(followed, w) - total(refunded, w));
  const hour = (w: 'express' | 'standard') => total(refunded, w) + steps * perStep(w);
  out(
    `\nCost per million refunds (a refund followed for an hour: ${steps} query steps of the channel's refund table)`,
  );
  out(`  ${'mix'.padEnd(30)} ${'Express'.padStart(9)} ${'Standard'.padStart(9)}`);
  for (const [label, share] of [
    ['all refunded at once', 0],
    ['10 % followed for an hour', 0.1],
  ] as const) {
    const mix = (w: 'express' | 'standard') => 1e6 * ((1 - share) * total(refunded, w) + share * hour(w));
    out(
      `  ${label.padEnd(30)} ${dollars(mix('express')).padStart(9)} ${dollars(mix('standard')).padStart(9)}`,
    );
  }

  const perHundredMs = 1e6 * (0.1 * (512 / 1024) * prices.lambdaPerGbSecond);
  out(
    `\n  Not in the table: the channel's own answer time. The sandbox answers at once; each 100 ms a channel takes`,
  );
  out(
    `  adds ${dollars(perHundredMs)} per million payments to the API function (512 MB). The sweep runs every minute whatever`,
  );
  out('  the volume (43,200 runs a month: about $0.03 of Lambda and its reads).');
} finally {
  await stack.stop();
}

// Finance: export + curate + the three reports over 10,000 orders (scripts/bench-finance.ts).
execFileSync(process.execPath, ['scripts/bench-finance.ts', ...(quick ? ['2000'] : [])], {
  stdio: 'inherit',
});
