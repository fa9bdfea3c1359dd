/**
 * Scale-out of the speed layer over processes (bench/distributed-capacity-bench.ts): a topic of N
 * YSB events is read by one `lklab speed-layer` process, then a second joins the same consumer
 * group. Measured from Kafka's side: the rebalance time (second process started → the group
 * stable with both members holding partitions) and each process's rate (its partitions'
 * committed offsets over time, members told apart by Kafka's DescribeGroups).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { LAB_MALLOC_ENV, LAB_NODE_FLAGS } from '../../kernel/util/node-flags.js';
import { GroupWatch, measureScaleOut, stopProcesses, type ScaleOutFigures } from './group-watch.js';

const { Kafka, logLevel } = kafkajs;

export interface ScaleOutResult extends ScaleOutFigures {
  events: number;
  partitions: number;
}

export async function speedLayerScaleOut(opts: {
  brokers: string[];
  redisUrl: string;
  partitions: number;
  /** Fills the topic (namespaced name) with events; returns how many. */
  fill: (topic: string) => Promise<number>;
  /** Seconds measured with one process, and with two. */
  seconds: number;
  bin: string;
}): Promise<ScaleOutResult> {
  const ns = `scale${randomUUID().slice(0, 6)}`;
  const topic = `${ns}.ad-events`;
  const group = `${ns}.lklab-speed`;
  const kafka = new Kafka({ brokers: opts.brokers, clientId: 'lkl-scale-out', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const dir = mkdtempSync(join(tmpdir(), 'lkl-scale-out-'));
  const procs: ChildProcess[] = [];
  const start = (): ChildProcess => {
    const p = spawn(process.execPath, [...LAB_NODE_FLAGS, opts.bin, 'speed-layer'], {
      env: {
        ...process.env,
        ...LAB_MALLOC_ENV,
        KAFKA_BROKERS: opts.brokers.join(','),
        REDIS_URL: opts.redisUrl,
        LKLAB_NAMESPACE: ns,
        LKLAB_DATA_DIR: dir,
        LKLAB_PARTITIONS: String(opts.partitions),
        LKLAB_RATE: '0',
      },
      stdio: 'ignore',
    });
    procs.push(p);
    return p;
  };
  const watch = new GroupWatch(admin, group, topic);
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: opts.partitions }], waitForLeaders: true });
    const events = await opts.fill(topic);
    // Warm-up: the first flushes and commits.
    const figures = await measureScaleOut(watch, start, opts.seconds, 'speed-layer', () => sleep(3000));
    return { events, partitions: opts.partitions, ...figures };
  } finally {
    await stopProcesses(procs);
    await admin.deleteTopics({ topics: [topic, `${ns}.ad-events-dead-letter`] }).catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
