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
import kafkajs from 'kafkajs';
import { LAB_NODE_FLAGS } from '../../kernel/util/node-flags.js';

const { Kafka, AssignerProtocol, logLevel } = kafkajs;

export interface ScaleOutResult {
  events: number;
  partitions: number;
  /** Events/s of the one process, before the second joined. */
  oneProcessEventsPerSec: number;
  /** Second process started → group stable with two members holding partitions (ms). */
  rebalanceMs: number;
  /** Events/s of each process, and together, after the rebalance. */
  twoProcessesEventsPerSec: number[];
  twoProcessesTotalEventsPerSec: number;
  /** Events not yet consumed when the measurement ended (> 0: both windows had a backlog to read). */
  backlogLeftAtEnd: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
  const committed = async (): Promise<Map<number, number>> => {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [ns + '.ad-events'] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
  };
  /** Partitions of each member (by member id), or undefined while the group is not stable. */
  const members = async (): Promise<Map<string, number[]> | undefined> => {
    const { groups } = await admin.describeGroups([group]);
    const g = groups[0];
    if (!g || g.state !== 'Stable') return undefined;
    const out = new Map<string, number[]>();
    for (const m of g.members) {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      out.set(m.memberId, a?.assignment[topic] ?? []);
    }
    return out;
  };
  const rateOver = async (
    seconds: number,
    owners: Map<string, number[]>,
  ): Promise<{ perMember: number[]; total: number }> => {
    const c0 = await committed();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = await committed();
    const s = (performance.now() - t0) / 1000;
    const perMember = [...owners.values()].map((parts) =>
      Math.round(parts.reduce((a, p) => a + ((c1.get(p) ?? 0) - (c0.get(p) ?? 0)), 0) / s),
    );
    return { perMember, total: perMember.reduce((a, b) => a + b, 0) };
  };
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: opts.partitions }], waitForLeaders: true });
    const events = await opts.fill(topic);
    start();
    let one: Map<string, number[]> | undefined;
    for (let i = 0; i < 600 && !((one = await members()) && one.size === 1); i++) await sleep(100);
    if (!one) throw new Error('the first speed-layer process did not join its group');
    await sleep(3000); // first flushes and commits
    const single = await rateOver(opts.seconds, one);
    const t0 = performance.now();
    start();
    let two: Map<string, number[]> | undefined;
    for (let i = 0; i < 1200; i++) {
      two = await members();
      if (two && two.size === 2 && [...two.values()].every((p) => p.length > 0)) break;
      two = undefined;
      await sleep(50);
    }
    if (!two) throw new Error('the second speed-layer process did not get partitions');
    const rebalanceMs = Math.round(performance.now() - t0);
    const both = await rateOver(opts.seconds, two);
    const ends = await admin.fetchTopicOffsets(topic);
    const done = await committed();
    const backlogLeftAtEnd = ends.reduce((a, p) => a + Number(p.high) - (done.get(p.partition) ?? 0), 0);
    return {
      events,
      partitions: opts.partitions,
      oneProcessEventsPerSec: single.total,
      rebalanceMs,
      twoProcessesEventsPerSec: both.perMember,
      twoProcessesTotalEventsPerSec: both.total,
      backlogLeftAtEnd,
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode === null ? p.once('exit', r) : r(0)))));
    await admin.deleteTopics({ topics: [topic, `${ns}.ad-events-dead-letter`] }).catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
