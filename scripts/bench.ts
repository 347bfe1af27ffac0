import { build } from 'esbuild';
import { MicropayClient } from '../cli/client.ts';
import { sandboxMerchants } from '../local/sandbox-merchants.ts';
import { startLocalStack } from '../local/stack.ts';

/**
 * Prints the figures we track: local `/v1/micropay` latency for sandbox outcome 00 (sequential and
 * concurrent), the gateway process's memory, and the bundle size of each Lambda function.
 * Usage: npm run bench [-- requests]
 */
const requests = Number(process.argv[2] ?? '300');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(label: string, samples: number[], wallMs: number): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const f = (n: number) => n.toFixed(1).padStart(6);
  return `${label.padEnd(26)} n=${samples.length}  mean ${f(mean)} ms  p50 ${f(percentile(sorted, 50))}  p95 ${f(percentile(sorted, 95))}  p99 ${f(percentile(sorted, 99))}  max ${f(sorted.at(-1) ?? 0)}  ${((samples.length / wallMs) * 1000).toFixed(0)} req/s`;
}

const stack = await startLocalStack({ port: 0, timeScale: 0.01 });
const merchant = sandboxMerchants[0];
if (!merchant) throw new Error('no sandbox merchant');
const client = new MicropayClient({
  url: stack.apiUrl,
  merchantId: merchant.profile.merchant_id,
  key: merchant.secret.api_key,
});
let n = 0;
const pay = async (): Promise<number> => {
  n += 1;
  const started = performance.now();
  const { envelope } = await client.micropay({
    pay_type: 'wechat.micro',
    mch_trade_id: `bench-${process.pid}-${n}`,
    body: 'Bench',
    total_fee: 1,
    spbill_create_ip: '127.0.0.1',
    auth_code: '134567890123456700',
  });
  if (envelope.code !== 0 || envelope.data?.trade_state !== 0)
    throw new Error(`unexpected answer ${JSON.stringify(envelope)}`);
  return performance.now() - started;
};

try {
  for (let i = 0; i < 30; i++) await pay(); // warm-up: JIT, connections, caches
  const sequential: number[] = [];
  let wall = performance.now();
  for (let i = 0; i < requests; i++) sequential.push(await pay());
  const sequentialWall = performance.now() - wall;
  const concurrent: number[] = [];
  wall = performance.now();
  const workers = 8;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = 0; i < Math.ceil(requests / workers); i++) concurrent.push(await pay());
    }),
  );
  const concurrentWall = performance.now() - wall;
  const memory = process.memoryUsage();

  console.log(
    '\nLocal /v1/micropay, sandbox outcome 00 (API + DynamoDB Local + WeChat sandbox over HTTPS, one machine)',
  );
  console.log(summary('sequential', sequential, sequentialWall));
  console.log(summary(`${workers} concurrent clients`, concurrent, concurrentWall));
  console.log(
    `gateway process memory     rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB  heap used ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB (DynamoDB Local's JVM not included)`,
  );
} finally {
  await stack.stop();
}

console.log('\nLambda bundles (esbuild, ESM, minified, AWS SDK external: as the CDK app builds them)');
for (const fn of ['api', 'settle', 'sweep']) {
  const result = await build({
    entryPoints: [`functions/${fn}/handler.ts`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    external: ['@aws-sdk/*'],
    write: false,
    outfile: `${fn}.mjs`,
    logLevel: 'silent',
  });
  const size = result.outputFiles[0]?.contents.byteLength ?? 0;
  console.log(`  ${fn.padEnd(8)} ${(size / 1024).toFixed(0).padStart(5)} KiB`);
}
