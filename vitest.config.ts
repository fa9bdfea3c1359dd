import { defineConfig } from 'vitest/config';

// One suite, many wirings: tests tagged "real infrastructure" read LKLAB_TEST_KAFKA / LKLAB_TEST_REDIS.
// When LKLAB_REQUIRE_INFRA=1 (set by .ci/run) a missing server is a failure, never a skip.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // *.fault.test.ts stop shared servers (the Kafka broker): they run alone, after the rest
    // (vitest.faults.config.ts; scripts/test-with-stack.sh runs both).
    exclude: ['node_modules/**', 'dist/**', '**/*.fault.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
