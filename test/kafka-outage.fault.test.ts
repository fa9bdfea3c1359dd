/**
 * Fault test (runs alone, after the parallel suites: it stops the shared broker). A distributed lab
 * with the generator running; the Kafka broker is stopped: health turns degraded; it is started
 * again: the lab recovers and every event the generator had acknowledged is in the topic exactly once.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { createLab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { describeDistributed, kafkaBrokers, redisUrl } from '../test-support/infra.js';
import { waitUntil } from '../kernel/util/wait-until.js';

const run = promisify(execFile);
const stack = (cmd: string): Promise<unknown> =>
  run('bash', [join(process.cwd(), 'scripts/stack/stack.sh'), cmd], { timeout: 120_000 });

describeDistributed('Kafka outage under a running distributed lab', () => {
  it(
    'reports degraded while the broker is down, then recovers without losing or duplicating an acknowledged event',
    { timeout: 300_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lkl-outage-'));
      const lab = await createLab(
        loadConfig({
          env: {},
          overrides: {
            dataDir: dir,
            namespace: `o${randomUUID().slice(0, 8)}`,
            kafka: { brokers: kafkaBrokers()!, clientId: 'lklab-outage-test' },
            redis: { url: redisUrl()! },
            generator: { rate: 500 },
            batch: { intervalMs: 0 },
          },
        }),
        { roles: { kappa: false } },
      );
      const health = async (): Promise<{
        status: string;
        dependencies: Array<{ name: string; state: string; detail: string }>;
      }> => (await lab.app.inject({ url: '/api/health' })).json();
      try {
        await waitUntil(async () => lab.services.generator.status.produced > 500, {
          what: 'events flowing',
          timeoutMs: 30_000,
          intervalMs: 250,
        });
        expect((await health()).status).toBe('ok');

        await stack('kafka-stop');
        let degraded: Awaited<ReturnType<typeof health>> | undefined;
        await waitUntil(
          async () => {
            const h = await health();
            if (h.status === 'degraded') degraded = h;
            return h.status === 'degraded';
          },
          { what: 'degraded health', timeoutMs: 60_000, intervalMs: 250 },
        );
        const logDep = degraded!.dependencies.find((d) => d.name === 'event-log')!;
        expect(logDep.state).toBe('down');
        expect(logDep.detail.length).toBeGreaterThan(10);
        expect((await lab.app.inject({ url: '/api/ready' })).statusCode).toBe(503);

        await stack('kafka-start');
        await waitUntil(async () => (await health()).status === 'ok', {
          what: 'healthy again',
          timeoutMs: 120_000,
          intervalMs: 250,
        });
        const before = lab.services.generator.status.produced;
        await waitUntil(async () => lab.services.generator.status.produced > before + 500, {
          what: 'generator appending again',
          timeoutMs: 120_000,
          intervalMs: 250,
        });

        await lab.services.generator.setRate(0);
        const produced = lab.services.generator.status.produced;
        const end = (await lab.services.log.offsets(AD_EVENTS_TOPIC)).reduce((s, p) => s + p.end, 0);
        expect(end).toBe(produced); // idempotent producer, records kept across the outage: no loss, no duplicate
      } finally {
        await lab.services.store.deleteByPrefix('').catch(() => undefined);
        await lab.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
