import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { addGatewayStacks } from '../../lib/gateway-app.ts';
import { templateApp } from '../support/cdk.ts';

describe('the CDK app (bin/app.ts)', () => {
  it('makes one stack per region given as -c regions=a,b', () => {
    const app = templateApp({ regions: 'eu-west-1, us-west-2' });
    const stacks = addGatewayStacks(app);
    assert.deepEqual(
      stacks.map((s) => [s.stackName, s.region]),
      [
        ['Micropay-eu-west-1', 'eu-west-1'],
        ['Micropay-us-west-2', 'us-west-2'],
      ],
    );
    assert.throws(() => addGatewayStacks(templateApp({ regions: [] })), /lists no region/);
  });

  // The deploy command itself, offline: the CDK CLI runs cdk.json's app, bundles every function, validates the
  // templates and fails on an unsuppressed cdk-nag error.
  it('`cdk synth` makes one stack per region in cdk.json, with every function bundled', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'micropay-cdk-'));
    try {
      execFileSync(
        process.execPath,
        ['node_modules/aws-cdk/bin/cdk', 'synth', '--quiet', '--output', outdir],
        {
          stdio: 'pipe',
        },
      );
      const configured = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: { regions: string[] } })
        .context.regions;
      const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
        artifacts: Record<string, { type: string; environment?: string }>;
      };
      const stacks = Object.entries(manifest.artifacts).filter(
        ([, a]) => a.type === 'aws:cloudformation:stack',
      );
      assert.deepEqual(
        stacks.map(([name, a]) => [name, a.environment?.split('/').pop()]).sort(),
        configured.map((region) => [`Micropay-${region}`, region]).sort(),
      );
      // CDK's built-in CloudFormation validation (resource schemas and its default rules) found nothing.
      const validation = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: { pluginName: string; violations?: unknown[] }[];
      };
      assert.deepEqual(
        validation.pluginReports.flatMap((r) => r.violations ?? []),
        [],
        'CloudFormation validation violations',
      );
      for (const [name] of stacks) {
        const assets = JSON.parse(readFileSync(join(outdir, `${name}.assets.json`), 'utf8')) as {
          files: Record<string, { source: { path: string; packaging: string } }>;
        };
        const code = Object.values(assets.files).filter((f) => f.source.packaging === 'zip');
        assert.equal(code.length, 7, `${name}: api, settle, sweep and reconciliation's four`);
        for (const { source } of code) {
          const bundle = readFileSync(join(outdir, source.path, 'index.mjs'), 'utf8');
          assert.ok(bundle.length > 10_000, `${name}: ${source.path}/index.mjs is a bundle`);
        }
        const nag = readFileSync(join(outdir, `AwsSolutions--${name}-NagReport.csv`), 'utf8');
        assert.doesNotMatch(nag, /"Non-Compliant"/, `${name}: cdk-nag finds nothing unsuppressed`);
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
