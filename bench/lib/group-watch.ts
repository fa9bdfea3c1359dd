/**
 * A consumer group watched from Kafka's side, for the scale-out measurements (speed layer and
 * Kappa workers): its members and their partitions (DescribeGroups), its committed offsets, the
 * time until a given number of members hold partitions, and each member's rate over a window
 * (its partitions' committed offsets before and after); and the one-process-then-two sequence
 * both measurements run (measureScaleOut).
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';

const { AssignerProtocol } = kafkajs;

type Admin = ReturnType<InstanceType<typeof kafkajs.Kafka>['admin']>;

export interface MemberRates {
  /** Events/s of each member (in DescribeGroups order). */
  perMember: number[];
  total: number;
}

export class GroupWatch {
  constructor(
    private readonly admin: Admin,
    /** Names as Kafka knows them (namespaced). */
    readonly group: string,
    readonly topic: string,
  ) {}

  async committed(): Promise<Map<number, number>> {
    const [t] = await this.admin.fetchOffsets({ groupId: this.group, topics: [this.topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
  }

  /** Partitions of each member (by member id), or undefined while the group is not stable. */
  async members(): Promise<Map<string, number[]> | undefined> {
    const { groups } = await this.admin.describeGroups([this.group]);
    const g = groups[0];
    if (!g || g.state !== 'Stable') return undefined;
    const out = new Map<string, number[]>();
    for (const m of g.members) {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      out.set(m.memberId, a?.assignment[this.topic] ?? []);
    }
    return out;
  }

  /** Waits until the group is stable with `n` members that all hold partitions; their partitions. */
  async waitForMembers(n: number, timeoutMs: number, what: string): Promise<Map<string, number[]>> {
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      const m = await this.members();
      if (m && m.size === n && [...m.values()].every((p) => p.length > 0)) return m;
      await sleep(50);
    }
    throw new Error(`${what}: the group ${this.group} did not get ${n} members holding partitions`);
  }

  /** Each member's rate over `seconds`, from its partitions' committed offsets. */
  async rateOver(seconds: number, owners: Map<string, number[]>): Promise<MemberRates> {
    const c0 = await this.committed();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = await this.committed();
    const s = (performance.now() - t0) / 1000;
    const perMember = [...owners.values()].map((parts) =>
      Math.round(parts.reduce((a, p) => a + ((c1.get(p) ?? 0) - (c0.get(p) ?? 0)), 0) / s),
    );
    return { perMember, total: perMember.reduce((a, b) => a + b, 0) };
  }

  /** Events between the committed offsets and the topic's end. */
  async backlog(): Promise<number> {
    const ends = await this.admin.fetchTopicOffsets(this.topic);
    const done = await this.committed();
    return ends.reduce((a, p) => a + Number(p.high) - (done.get(p.partition) ?? 0), 0);
  }
}

/** What a scale-out from one process to two in the same group measured. */
export interface ScaleOutFigures {
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

/**
 * Starts one process (`start`), waits until it holds partitions and `warmUp` resolves, measures
 * its rate for `seconds`; starts a second, times the rebalance, measures both for `seconds`.
 */
export async function measureScaleOut(
  watch: GroupWatch,
  start: () => void,
  seconds: number,
  what: string,
  warmUp: () => Promise<void>,
): Promise<ScaleOutFigures> {
  start();
  const one = await watch.waitForMembers(1, 60_000, `the first ${what} process`);
  await warmUp();
  const single = await watch.rateOver(seconds, one);
  const t0 = performance.now();
  start();
  const two = await watch.waitForMembers(2, 60_000, `the second ${what} process`);
  const rebalanceMs = Math.round(performance.now() - t0);
  const both = await watch.rateOver(seconds, two);
  return {
    oneProcessEventsPerSec: single.total,
    rebalanceMs,
    twoProcessesEventsPerSec: both.perMember,
    twoProcessesTotalEventsPerSec: both.total,
    backlogLeftAtEnd: await watch.backlog(),
  };
}

/** SIGTERM to every process still running, and wait until each has exited. */
export async function stopProcesses(procs: readonly ChildProcess[]): Promise<void> {
  const exited = procs
    .filter((p) => p.exitCode === null && p.signalCode === null)
    .map((p) => new Promise((r) => p.once('exit', r)));
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  await Promise.all(exited);
}
