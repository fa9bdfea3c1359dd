/**
 * Real-infrastructure wiring for tests. Suites that need Kafka or Redis read KAFKA_BROKERS /
 * REDIS_URL. Locally, without them, such suites are skipped with a visible reason; in CI
 * (LKLAB_REQUIRE_INFRA=1, set by .ci/run) a missing server FAILS the suite instead of skipping it.
 */
import { describe } from 'vitest';

export const requireInfra = process.env.LKLAB_REQUIRE_INFRA === '1' || process.env.CI === 'true';

export function kafkaBrokers(): string[] | undefined {
  const v = process.env.KAFKA_BROKERS;
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

export function redisUrl(): string | undefined {
  return process.env.REDIS_URL || undefined;
}

type Suite = (name: string, fn: () => void) => void;

function gated(what: string, available: boolean): Suite {
  if (available) return (name, fn) => describe(name, fn);
  if (requireInfra) {
    return (name) =>
      describe(name, () => {
        throw new Error(
          `${name} needs ${what}, which is not configured, and LKLAB_REQUIRE_INFRA=1 forbids skipping it. Run \`npm run stack:up\` and export the variables it prints.`,
        );
      });
  }
  return (name, fn) =>
    describe.skip(`${name} [skipped: ${what} not set; \`npm run stack:up\` then export it]`, fn);
}

/** describe() for suites that need a real Kafka broker (KAFKA_BROKERS). */
export const describeWithKafka: Suite = gated('KAFKA_BROKERS', kafkaBrokers() !== undefined);
/** describe() for suites that need a real Redis (REDIS_URL). */
export const describeWithRedis: Suite = gated('REDIS_URL', redisUrl() !== undefined);
/** describe() for suites that need both (the distributed lab). */
export const describeDistributed: Suite = gated(
  'KAFKA_BROKERS and REDIS_URL',
  kafkaBrokers() !== undefined && redisUrl() !== undefined,
);
