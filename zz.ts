import { startLocalStack } from './local/stack.ts';
import { compareSpeed } from './scripts/bench/speed.ts';
const stack = await startLocalStack({ port: 0, timeScale: 0.01, sweepIntervalMs: 3_600_000, logLevel: 'CRITICAL' });
try { console.log(JSON.stringify(await compareSpeed(stack, { sequential: 300, concurrent: 1500, clients: 32 }))); } finally { await stack.stop(); }
