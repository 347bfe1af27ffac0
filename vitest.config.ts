import { defineConfig } from 'vitest/config';
import type { Reporter } from 'vitest/node';

/** Ends the run with a plain `N passed, N failed, N skipped` line that any CI log reader understands. */
const summaryLine: Reporter = {
  onTestRunEnd(testModules) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
    }
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  },
};

/**
 * Three projects, one command (`npm test`): unit (domain with fakes), integration (the local stack over
 * real HTTP: DynamoDB Local, sandboxes, the ASL run locally) and infra (ASL and CDK template). Files share a
 * few worker processes (`isolate: false`), so what they import (SDK clients, aws-cdk-lib, the sandboxes, the ASL
 * interpreter) loads once per process instead of once per file. Nothing in a test file changes global state it
 * does not restore, and each integration file's local stack makes its handlers from its own environment
 * (`createRuntime`), not from what the modules read at import.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    isolate: false,
    // Three on two cores: integration files spend part of their time in protocol waits, and a third worker
    // fills that idle CPU (npm test with two: 50–54 s; with three: 42–48 s, measured in the same hour).
    maxWorkers: 3,
    reporters: ['default', summaryLine],
    coverage: {
      provider: 'v8',
      include: ['core/**', 'adapters/**', 'functions/**', 'lib/**', 'sandbox/**', 'local/**', 'cli/**'],
      reporter: ['text-summary'],
    },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      { extends: true, test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 60_000 } },
    ],
  },
});
