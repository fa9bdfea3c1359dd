/**
 * Fault test (runs alone, after the parallel suites: it stops and starts the local stack's broker).
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeWithKafka } from '../../../test-support/infra.js';
import { isLabError, type LabError } from '../../errors/lab-error.js';
import type { AppendAck, LogConsumer } from '../../ports/event-log.js';
import {
  labError,
  newTopic,
  onLocalStack,
  open,
  range,
  readAll,
  run,
  sleep,
  stackScript,
  repoRoot,
} from '../../../test-support/kafka-test-support.js';
import { waitUntil } from '../../util/wait-until.js';

describeWithKafka('kafka event log: broker restart', () => {
  it.runIf(onLocalStack())(
    'survives a broker restart: every acknowledged append is in the log exactly once, in order; LKL_ERR_LOG_UNAVAILABLE while it is down',
    async () => {
      const log = await open({ logLevel: 'nothing' }); // default retries: rides out the outage
      const fast = await open({
        logLevel: 'nothing',
        producerRetry: { retries: 2, initialRetryTimeMs: 200, maxRetryTimeMs: 500 },
      });
      const topic = await newTopic(log, 3);
      const group = `g-${randomUUID()}`;

      // A consumer that runs through the outage, committing after each batch (at-least-once).
      const live = new Set<string>();
      const liveConsumer: LogConsumer = log.consumer({ group, topic, start: 'earliest' });
      await liveConsumer.run(async (b) => {
        for (const r of b.records) live.add(r.value);
        await liveConsumer
          .commit([{ partition: b.partition, offset: b.records[b.records.length - 1]!.offset + 1 }])
          .catch(() => undefined);
      });

      // The appender loop: batches of 20 unique values; a failed batch is not resent (new values next time).
      const acked: Array<{ ack: AppendAck; values: string[] }> = [];
      const sentValues = new Set<string>();
      const errors: LabError[] = [];
      let seq = 0;
      let stop = false;
      let downAt = Infinity;
      let ackedAfterRestart = 0;
      let upAt = Infinity;
      const loop = (async () => {
        while (!stop) {
          const batch = range(0, 20).map(() => {
            const n = seq++;
            return { value: `s-${n}`, partition: n % 3 };
          });
          for (const r of batch) sentValues.add(r.value);
          try {
            const acks = await fast.append(topic, batch);
            for (const ack of acks)
              acked.push({
                ack,
                values: batch.filter((r) => r.partition === ack.partition).map((r) => r.value),
              });
            if (performance.now() > upAt) ackedAfterRestart++;
          } catch (err) {
            if (!isLabError(err)) throw err;
            errors.push(err);
            await sleep(200);
          }
          await sleep(20);
        }
      })();

      let survivor: Promise<AppendAck[]> | undefined;
      let survivorDoneAt = 0;
      let adminFailMs = 0;
      let stopStart = 0;
      try {
        await waitUntil(() => acked.length >= 30, {
          what: 'appends before the outage',
          timeoutMs: 30_000,
          intervalMs: 25,
        });
        stopStart = performance.now();
        await run('bash', [stackScript, 'kafka-stop'], { cwd: repoRoot });
        downAt = performance.now();
        // While the broker is down: fast-failing calls report UNAVAILABLE, retriable.
        await waitUntil(() => errors.length > 0, {
          what: 'an append to fail',
          timeoutMs: 30_000,
          intervalMs: 25,
        });
        const a0 = performance.now();
        const adminError = await labError(log.offsets(topic));
        adminFailMs = performance.now() - a0;
        expect(adminFailMs).toBeLessThan(10_000); // admin calls fail fast (≈ 4 s of retries)
        // The default producer waits (≈ 39 s of retries) instead of failing.
        survivor = log.append(topic, [{ value: 'survivor', partition: 0 }]);
        survivor.then(() => (survivorDoneAt = performance.now())).catch(() => undefined);
        await sleep(3_000);
        for (const e of [...errors, adminError])
          expect([e.code, e.retriable]).toEqual(['LKL_ERR_LOG_UNAVAILABLE', true]);
        expect(performance.now() - downAt).toBeGreaterThan(2_000);
      } finally {
        await run('bash', [stackScript, 'kafka-start'], { cwd: repoRoot });
        upAt = performance.now();
      }
      await waitUntil(() => ackedAfterRestart >= 10, {
        what: 'appends after the restart',
        timeoutMs: 60_000,
        intervalMs: 25,
      });
      stop = true;
      await loop;
      const survivorAcks = await survivor!;
      expect(survivorAcks).toHaveLength(1);
      expect(survivorDoneAt).toBeGreaterThan(upAt - 10_000); // it waited for the broker, it did not fail
      console.info(
        `broker fault: kafka-stop took ${Math.round(downAt - stopStart)} ms, down ≈ ${Math.round((upAt - downAt) / 1000)} s (incl. the start); ` +
          `${errors.length} fast appends failed with LKL_ERR_LOG_UNAVAILABLE, admin call failed after ${Math.round(adminFailMs)} ms; ` +
          `${acked.length} acknowledged appends; the default-retry append resolved ${Math.round((survivorDoneAt - upAt) / 1000)} s after the broker was back`,
      );

      // Read everything back from earliest and check every acknowledged append against its offsets.
      const all = await readAll(log, topic);
      const count = new Map<string, number>();
      for (const rs of all.values()) for (const r of rs) count.set(r.value, (count.get(r.value) ?? 0) + 1);
      for (const { ack, values } of acked) {
        const rs = all.get(ack.partition)!;
        const at = rs.findIndex((r) => r.offset === ack.baseOffset);
        expect(rs.slice(at, at + ack.count).map((r) => r.value)).toEqual(values);
        expect(rs.slice(at, at + ack.count).map((r) => r.offset)).toEqual(
          range(ack.baseOffset, ack.baseOffset + ack.count),
        );
      }
      const ackedValues = acked.flatMap((a) => a.values);
      for (const v of ackedValues) expect([v, count.get(v)]).toEqual([v, 1]);
      // Nothing is ever duplicated, acknowledged or not (idempotent producer; failed batches are not resent).
      expect([...count.entries()].filter(([, n]) => n > 1)).toEqual([]);
      for (const v of count.keys()) expect(v === 'survivor' || sentValues.has(v)).toBe(true);
      expect(count.get('survivor')).toBe(1);
      // Per partition the acknowledged values are in the order they were sent.
      for (const [p, rs] of all) {
        const seqs = rs
          .map((r) => r.value)
          .filter((v) => v !== 'survivor')
          .map((v) => Number(v.slice(2)));
        expect([p, seqs]).toEqual([p, [...seqs].sort((a, b) => a - b)]);
      }
      expect(errors.length).toBeGreaterThan(0);

      // The live consumer rejoined by itself and has seen every acknowledged record.
      await waitUntil(() => ackedValues.every((v) => live.has(v)) && live.has('survivor'), {
        what: 'the live consumer to catch up',
        timeoutMs: 60_000,
        intervalMs: 25,
      });
      await liveConsumer.stop();
      await log.deleteGroup(group);
    },
    150_000,
  );
});
