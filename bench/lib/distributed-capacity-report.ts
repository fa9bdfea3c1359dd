/**
 * The JSON report of bench/distributed-capacity-bench.ts and what one run of it must hold (issue
 * 19): Kafka's ProducerPerformance, our producer on one thread and in pools of 1 and N threads,
 * the load steps per architecture, the overload step per architecture, and the two scale-outs
 * (speed layer, Kappa workers). `reportGaps` names the parts a report lacks, so the bench can say
 * whether its run was the complete one.
 */
import type { KappaScaleOutResult } from './kappa-scale-out.js';
import type { ScaleOutResult } from './speed-scale-out.js';

export interface ProduceFigure {
  what: string;
  eventsPerSec: number;
  /** Events per CPU-second of this process (all its threads); undefined for the Java tool. */
  cpuEventsPerSec: number | undefined;
}

export interface StepFigure {
  arch: string;
  targetRate: number;
  achievedRate: number;
  p50: number;
  p99: number;
  maxBacklogEvents: number | null;
  sustained: boolean;
  loadAverage: number[];
}

/** A step past capacity with back-pressure on: bounded latency, lag shown, nothing lost. */
export interface OverloadFigure extends StepFigure {
  maxLagLimit: number;
  /** The job's largest lag as the producers' lag monitors read it (committed offsets). */
  maxCommittedLagEvents: number;
  /** The topic's record count, and what the job read of it once it drained. */
  produced: number;
  processed: number;
  lost: number;
}

export const JAVA_PRODUCER = 'Java ProducerPerformance';
export const OURS_ONE_THREAD = 'ours, one thread (append)';
export const poolLabel = (workers: number): string =>
  `ours, producer pool of ${workers} thread${workers > 1 ? 's' : ''}`;

export interface DistributedCapacityReport {
  bench: 'distributed-capacity';
  args: { archs: string[]; workers: number };
  produce: Array<ProduceFigure & { ratioToJava: number }>;
  consumerPerfEventsPerSec: number;
  steps: StepFigure[];
  highestSustainedStep: Record<string, number>;
  overload: OverloadFigure[];
  scaleOut: ScaleOutResult | null;
  kappaScaleOut: KappaScaleOutResult | null;
}

/** The parts of a complete one-run report that `r` lacks (empty: complete). */
export function reportGaps(r: DistributedCapacityReport): string[] {
  const gaps: string[] = [];
  const has = (what: string): boolean => r.produce.some((f) => f.what === what && f.eventsPerSec > 0);
  if (!has(JAVA_PRODUCER)) gaps.push('ProducerPerformance');
  if (!(r.consumerPerfEventsPerSec > 0)) gaps.push('ConsumerPerformance');
  if (!has(OURS_ONE_THREAD)) gaps.push('our producer on one thread');
  if (!has(poolLabel(1))) gaps.push('our producer pool of 1 thread');
  if (r.args.workers < 2 || !has(poolLabel(r.args.workers))) gaps.push('our producer pool of N > 1 threads');
  for (const arch of ['lambda', 'kappa']) {
    if (!r.steps.some((s) => s.arch === arch)) gaps.push(`load steps, ${arch}`);
    if (!r.overload.some((o) => o.arch === arch)) gaps.push(`overload step, ${arch}`);
  }
  if (!r.scaleOut) gaps.push('speed-layer scale-out');
  if (!r.kappaScaleOut) gaps.push('Kappa workers scale-out');
  return gaps;
}

/** One line per overload step: what was asked, achieved, the latency, the lag and the count. */
export function overloadLine(o: OverloadFigure, fmt: (n: number) => string): string {
  return `overload ${o.arch} ${fmt(o.targetRate)}/s asked: achieved ${fmt(o.achievedRate)}/s, p50 ${fmt(o.p50)} ms, p99 ${fmt(o.p99)} ms; largest lag ${o.maxBacklogEvents === null ? '—' : fmt(o.maxBacklogEvents)} events (the job's position), ${fmt(o.maxCommittedLagEvents)} committed (what the producers see; they wait past ${fmt(2 * o.maxLagLimit)}); produced ${fmt(o.produced)}, processed ${fmt(o.processed)}, lost ${fmt(o.lost)}; load average ${o.loadAverage.join(' ')}`;
}

/** One line for a scale-out from one process to two: the rates, the rebalance and the backlog left. */
export function scaleOutLine(what: string, r: ScaleOutResult, fmt: (n: number) => string): string {
  return `scale-out, ${what}: 1 process ${fmt(r.oneProcessEventsPerSec)}/s; rebalance ${fmt(r.rebalanceMs)} ms; 2 processes ${r.twoProcessesEventsPerSec.map(fmt).join(' + ')} = ${fmt(r.twoProcessesTotalEventsPerSec)}/s; backlog left ${fmt(r.backlogLeftAtEnd)}`;
}

/** One line for the Kappa workers' scale-out, with the replay's exactness. */
export function kappaScaleOutLine(k: KappaScaleOutResult, fmt: (n: number) => string): string {
  return `${scaleOutLine(`Kappa workers (replay job 2, logic v2, ${fmt(k.events)} events on ${k.partitions} partitions)`, k, fmt)}${k.backlogLeftAtEnd === 0 ? ' (ran out: the two-process rate is understated, raise --kappa-backlog)' : ''}; replay ${k.exact ? 'exact' : 'NOT exact'} (${fmt(k.views.correct)} cells correct, ${k.views.differ} differ, ${k.views.missing} missing, ${k.views.extra} extra; processed ${fmt(k.processed)} of ${fmt(k.events)})`;
}
