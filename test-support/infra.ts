/**
 * Real-infrastructure wiring for tests. Suites that need Kafka or Redis read KAFKA_BROKERS /
 * REDIS_URL. Locally, without them, such suites are skipped with a visible reason; in CI
 * (LKLAB_REQUIRE_INFRA=1, set by .ci/run) a missing server FAILS the suite instead of skipping it.
 */
import { existsSync } from 'node:fs';
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

const STACK_HINT = {
  missing: 'which is not configured',
  fail: 'Run `npm run stack:up` and export the variables it prints.',
  skip: 'not set; `npm run stack:up` then export it',
};

function gated(what: string, available: boolean, hint = STACK_HINT): Suite {
  if (available) return (name, fn) => describe(name, fn);
  if (requireInfra) {
    return (name) =>
      describe(name, () => {
        throw new Error(
          `${name} needs ${what}, ${hint.missing}, and LKLAB_REQUIRE_INFRA=1 forbids skipping it. ${hint.fail}`,
        );
      });
  }
  return (name, fn) => describe.skip(`${name} [skipped: ${what} ${hint.skip}]`, fn);
}

/**
 * describe() for suites that run a machine tool from a Debian package (scripts/setup-machine.sh
 * installs it): skipped without it, a failure with LKLAB_REQUIRE_INFRA=1.
 */
export function describeWithTool(path: string, debianPackage: string): Suite {
  return gated(path, existsSync(path), {
    missing: 'which is not installed',
    fail: `Run \`bash scripts/setup-machine.sh\` (Debian package ${debianPackage}).`,
    skip: `missing; \`bash scripts/setup-machine.sh\` installs ${debianPackage}`,
  });
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
