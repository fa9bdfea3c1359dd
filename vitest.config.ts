import { defineConfig } from 'vitest/config';

// One suite, many wirings: tests tagged "real infrastructure" read LKLAB_TEST_KAFKA / LKLAB_TEST_REDIS.
// When LKLAB_REQUIRE_INFRA=1 (set by .ci/run) a missing server is a failure, never a skip.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
