import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { median } from './stats.ts';

/** The functions the stack deploys. */
export const functionNames = ['api', 'settle', 'sweep'] as const;

/** esbuild as lib/functions.ts has CDK run it (ESM, minified, source maps, AWS SDK from the runtime). */
function options(entry: string, outfile: string) {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node24',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    banner: {
      js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
    },
    outfile,
    logLevel: 'silent' as const,
  };
}

/** Each function's bundle size in bytes (the code, without its source map). */
export async function bundleSizes(): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const fn of functionNames) {
    const result = await build({ ...options(`functions/${fn}/handler.ts`, `${fn}.mjs`), write: false });
    sizes[fn] = result.outputFiles.find((f) => f.path.endsWith('.mjs'))?.contents.byteLength ?? 0;
  }
  return sizes;
}

/** The floor of cold init: a handler that imports only the DynamoDB client and zod, and does a little. */
const floorHandler = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
const client = new DynamoDBClient({});
const request = z.object({ merchant_id: z.string().min(1) });
export const handler = async (event) => ({ ok: request.safeParse(event).success, region: await client.config.region() });
`;

export interface ColdInit {
  readonly apiMs: number;
  readonly floorMs: number;
}

/**
 * Cold init as Lambda's Init phase has it: a fresh Node process with source maps on loads the bundle and
 * runs its top level (config, clients). Alternates the two, `runs` times each, and takes medians.
 */
export async function coldInit(runs = 15): Promise<ColdInit> {
  const dir = mkdtempSync(join(process.cwd(), '.bench-cold-'));
  try {
    await build(options('functions/api/handler.ts', join(dir, 'api.mjs')));
    writeFileSync(join(dir, 'floor.js'), floorHandler);
    await build(options(join(dir, 'floor.js'), join(dir, 'floor.mjs')));
    const env = {
      ...process.env,
      AWS_REGION: 'us-east-1',
      // As Lambda gives a function its role's credentials.
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
      AWS_SESSION_TOKEN: 'example',
      ORDERS_TABLE: 'orders',
      WAKEUPS_TABLE: 'wakeups',
      MERCHANTS_TABLE: 'merchants',
      SETTLEMENT_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:micropay',
    };
    const time = (file: string) =>
      Number(
        execFileSync(
          process.execPath,
          [
            '--enable-source-maps',
            '--input-type=module',
            '-e',
            `const t = performance.now(); const m = await import(${JSON.stringify(file)}); if (typeof m.handler !== 'function') throw new Error('no handler'); console.log(performance.now() - t);`,
          ],
          { env },
        ).toString(),
      );
    const api: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < runs; i++) {
      api.push(time(join(dir, 'api.mjs')));
      floor.push(time(join(dir, 'floor.mjs')));
    }
    return { apiMs: median(api), floorMs: median(floor) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
