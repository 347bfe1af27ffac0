/**
 * Mutation testing of the money paths (`npm run test:mutation`; not part of `npm test`): settlement, orders,
 * payments, the proof of verified answers, every channel's answer reading and the order store. Incremental: a
 * rerun tests only the mutants whose code or covering tests changed. Surviving mutants that are equivalent are
 * listed with their reasons in docs/mutation-testing.md.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner', './scripts/mutation/ignore-logs.mjs'],
  ignorers: ['logs'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: [
    'core/settlement/**/*.ts',
    'core/orders/**/*.ts',
    'core/payments/**/*.ts',
    'core/channels/verified.ts',
    'core/channels/kit/**/*.ts',
    'core/channels/*/answers.ts',
    'adapters/table-order-store.ts',
  ],
  coverageAnalysis: 'perTest',
  incremental: true,
  // Kept locally (reports/ is not committed): a rerun on the same machine tests only what changed. After moving
  // code around, run `npm run test:mutation -- --force` once: the incremental diff can keep stale results.
  incrementalFile: 'reports/mutation/incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  clearTextReporter: { reportTests: false, reportMutants: true, reportScoreTable: true },
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: 90 },
  concurrency: 2,
  timeoutMS: 20_000,
  tempDirName: '.stryker-tmp',
  // Stryker rewrites the tsconfig's `extends`/`references` paths for its sandbox with TypeScript's JS API, which
  // TypeScript 7 (the Go port) no longer has; this project's tsconfig has neither, so there is nothing to rewrite.
  tsconfigFile: 'tsconfig.stryker-none.json',
  cleanTempDir: 'always',
};
