/**
 * A Kappa+ history for tests and benchmarks: the first share of a YSB catch-up stream goes through
 * the batch ingest into the master dataset (the archive), the rest only reaches the log. Then the
 * caller lets retention drop the log's start (embedded: enforceRetention; Kafka: dropLogStart) and
 * replays from the archive. Works on any EventLog (embedded or Kafka, namespaced or not).
 */
import { AnalyticDb, BatchIngestor, MasterArchive, MasterDataset } from '../batch-layer/index.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { YsbEvent } from '../kernel/events/ysb-event.js';
import { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { GeneratorKnobs } from '../kernel/workload/ysb-generator.js';
import { appendCatchUp, catchUpEvents, ref, T0 } from './kappa-harness.js';

export interface ArchivedHistoryOptions {
  /** Where the master dataset's Parquet splits go. */
  dir: string;
  topic: string;
  seed: number;
  /** Events in all. */
  n: number;
  /** Of which the batch ingest archives the first `archived`. */
  archived: number;
  knobs?: Partial<GeneratorKnobs>;
  /** Events per split of the batch ingest. */
  maxSplitEvents?: number;
  /** The batch ingest's consumer group (a name of its own per test on a shared log). */
  ingestGroup?: string;
}

export interface ArchivedHistory {
  master: MasterDataset;
  db: AnalyticDb;
  archive: MasterArchive;
  /** The whole history, in append order (what the truth is counted from). */
  events(): Generator<YsbEvent>;
  /** The manifest's cut-over per partition: the archive holds offsets [0, cut-over). */
  cutover(): Map<number, number>;
  close(): void;
}

/** Appends the history, archives its first part through the batch ingest, then appends the rest. */
export async function buildArchivedHistory(
  log: EventLog,
  o: ArchivedHistoryOptions,
): Promise<ArchivedHistory> {
  const db = await AnalyticDb.open(ref);
  const master = new MasterDataset(o.dir, o.topic);
  const deadLetters = new DeadLetterWriter(log, systemClock, `${o.topic}-dead-letter`);
  await deadLetters.ensureTopic();
  const restStart = T0 + o.archived * 10; // catch-up streams advance 10 ms per event
  await appendCatchUp(log, o.topic, o.seed, o.archived, undefined, o.knobs);
  const ingest = new BatchIngestor(log, master, db, deadLetters, systemClock, new LabEventBus(100), {
    topic: o.topic,
    group: o.ingestGroup ?? 'lklab-batch-ingest',
    intervalMs: 60_000,
    maxSplitEvents: o.maxSplitEvents ?? 200_000,
  });
  await ingest.start();
  await ingest.sync(120_000);
  await ingest.stop();
  await appendCatchUp(log, o.topic, o.seed + 1, o.n - o.archived, restStart, o.knobs);
  return {
    master,
    db,
    archive: new MasterArchive(master, () => db),
    *events() {
      yield* catchUpEvents(o.seed, o.archived, undefined, o.knobs);
      yield* catchUpEvents(o.seed + 1, o.n - o.archived, restStart, o.knobs);
    },
    cutover: () => new Map(Object.entries(master.snapshot.offsets).map(([p, offset]) => [Number(p), offset])),
    close: () => db.close(),
  };
}

/**
 * What retention does to a Kafka topic's start, on demand: the broker deletes every record below
 * `before[partition]` (Kafka's DeleteRecords, as `kafka-delete-records.sh` sends it), so the
 * partition's low offset moves up. `topic` is the broker's name (with the lab's namespace prefix).
 */
export async function dropLogStart(
  brokers: string[],
  topic: string,
  before: ReadonlyMap<number, number>,
): Promise<void> {
  const { default: kafkajs } = await import('kafkajs');
  const kafka = new kafkajs.Kafka({
    clientId: 'lkl-test-retention',
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // deleteTopicRecords looks up the partitions' leaders in metadata it does not load itself.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({
      topic,
      partitions: [...before].map(([partition, offset]) => ({ partition, offset: String(offset) })),
    });
  } finally {
    await admin.disconnect();
  }
}
