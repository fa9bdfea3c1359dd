import { defineConfig } from 'vitest/config';

// Fault tests stop and start shared servers, so they run one file at a time, after the main suites.
export default defineConfig({
  test: {
    include: ['**/*.fault.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
