import { defineConfig } from 'vitest/config';

/**
 * The unit project alone, for mutation testing (`npm run test:mutation`, StrykerJS): the money paths are
 * exercised by unit tests over fakes, which run a mutant in milliseconds where the local stack takes seconds.
 */
export default defineConfig({
  test: {
    name: 'unit',
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
