/**
 * Pre-flight of a replay: does the log still hold the whole history job N+1 must recompute?
 * Kappa's premise (Kreps) is a log that keeps everything the new job must see. Refused when
 * - a partition's low offset is above 0 (retention already dropped its first records), or
 * - the topic's time retention is shorter than the history needed: the age of the oldest record
 *   plus a margin for the replay itself (kappa.retentionMarginMs) — else segments could be
 *   deleted under the replay while it reads them.
 * A size limit (retention.bytes) is reported as a warning: whether it bites depends on growth.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../kernel/clock/clock.js';
import type { EventLog, LogRecord, PartitionOffsets } from '../../kernel/ports/event-log.js';

export interface RetentionCheckResult {
  ok: boolean;
  /** Why the replay would miss history (refused unless forced). */
  problems: string[];
  /** Risks that do not refuse the replay. */
  warnings: string[];
  partitions: PartitionOffsets[];
  retentionMs: number | null;
  retentionBytes: number | null;
  /** Age of the oldest retained record (ms); null when not needed or the log is empty. */
  historyMs: number | null;
}

/** The embedded log's direct read (not part of the port). */
interface DirectRead {
  read(topic: string, partition: number, from: number, max: number): Promise<LogRecord[]>;
}

export async function checkRetention(
  log: EventLog,
  topic: string,
  clock: Clock,
  marginMs: number,
): Promise<RetentionCheckResult> {
  const partitions = await log.offsets(topic);
  const desc = (await log.listTopics()).find((t) => t.name === topic);
  const retentionMs = desc?.retentionMs !== undefined && desc.retentionMs > 0 ? desc.retentionMs : null;
  const retentionBytes =
    desc?.retentionBytes !== undefined && desc.retentionBytes > 0 ? desc.retentionBytes : null;
  const problems: string[] = [];
  const warnings: string[] = [];
  const trimmed = partitions.filter((p) => p.low > 0);
  for (const p of trimmed) {
    problems.push(
      `partition ${p.partition} of ${topic} starts at offset ${p.low}: retention already dropped offsets 0..${p.low - 1}, which the current job counted`,
    );
  }
  let historyMs: number | null = null;
  if (retentionMs !== null) {
    const oldest = await oldestTimestamps(
      log,
      topic,
      partitions.filter((p) => p.end > p.low),
    );
    if (oldest.size > 0) {
      historyMs = Math.max(0, clock.now() - Math.min(...oldest.values()));
      if (retentionMs < historyMs + marginMs) {
        problems.push(
          `${topic} keeps records for ${retentionMs} ms (retention), shorter than the history this replay needs: the oldest record is ${historyMs} ms old, plus ${marginMs} ms (kappa.retentionMarginMs) for the replay to read it — segments would be deleted under the replay`,
        );
      }
    }
  }
  if (retentionBytes !== null) {
    warnings.push(
      `${topic} keeps at most ${retentionBytes} bytes per partition (retention.bytes): as the topic grows its oldest segments go, and a later replay will miss them`,
    );
  }
  return {
    ok: problems.length === 0,
    problems,
    warnings,
    partitions,
    retentionMs,
    retentionBytes,
    historyMs,
  };
}

/** Timestamp of the first retained record of each given partition. */
async function oldestTimestamps(
  log: EventLog,
  topic: string,
  partitions: PartitionOffsets[],
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (partitions.length === 0) return out;
  if (typeof (log as unknown as Partial<DirectRead>).read === 'function') {
    for (const p of partitions) {
      const [first] = await (log as unknown as DirectRead).read(topic, p.partition, p.low, 1);
      if (first) out.set(p.partition, first.timestamp);
    }
    return out;
  }
  // Kafka: a throwaway group reads the first record of each partition.
  const group = `lklab-kappa-probe-${randomUUID().slice(0, 8)}`;
  const consumer = log.consumer({ group, topic, start: 'earliest', maxBatchRecords: 1 });
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  await consumer.run(async (batch) => {
    const r = batch.records[0];
    if (r && !out.has(batch.partition)) out.set(batch.partition, r.timestamp);
    if (out.size >= partitions.length) done();
  });
  await Promise.race([all, new Promise((r) => setTimeout(r, 15_000))]);
  await consumer.stop();
  await log.deleteGroup(group).catch(() => undefined);
  return out;
}
