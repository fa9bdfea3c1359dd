/**
 * The figures derived from the raw reports of bench/results/latest.json — shared by the report
 * (BENCHMARKS.md) and the charts; the file's shape and the profiles are in bench-results-shape.ts.
 */
import type { BenchResults } from './bench-results-shape.js';

export { PROFILES, YSB_RATES, type Profile, type PartRun, type BenchResults } from './bench-results-shape.js';

// ---- derived figures ----

export interface LoadRow {
  arch: string;
  mode: string;
  targetRate: number;
  achievedRate: number;
  windows: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  sustained: boolean;
  peakRssBytes: number | null;
  command: string;
  error: string | null;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en');
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function loadRows(r: BenchResults): LoadRow[] {
  return r.runs
    .filter((x) => x.part === 'load')
    .map((x) => {
      const res = (x.report?.result ?? {}) as Record<string, unknown>;
      const args = /--arch (\S+) --mode (\S+) --rate (\d+)/.exec(x.command);
      const row: LoadRow = {
        arch: String(res.arch ?? args?.[1] ?? '?'),
        mode: String(res.mode ?? args?.[2] ?? '?'),
        targetRate: num(res.targetRate) ?? Number(args?.[3] ?? NaN),
        achievedRate: num(res.achievedRate) ?? 0,
        windows: num(res.windows) ?? 0,
        p50: num(res.p50),
        p90: num(res.p90),
        p99: num(res.p99),
        sustained: false,
        peakRssBytes: num(res.peakRssBytes),
        command: x.command,
        error: x.error,
      };
      row.sustained =
        x.ok &&
        row.windows > 0 &&
        row.p99 !== null &&
        row.achievedRate >= 0.95 * row.targetRate &&
        row.p99 <= r.profileSettings.load.p99LimitMs;
      return row;
    });
}

export const ARCH_LABEL: Record<string, string> = {
  lambda: 'Lambda (speed layer)',
  kappa: 'Kappa (live job)',
  'kafka-streams': 'Kafka Streams peer (Java)',
  flink: 'Flink peer (Java)',
};
/** The architectures that are peers, not ours, with their short names. */
export const PEER_ARCHS: Record<string, string> = { 'kafka-streams': 'Kafka Streams', flink: 'Flink' };
export const MODE_LABEL: Record<string, string> = { embedded: 'embedded', distributed: 'Kafka + Redis' };
/** The peers read Kafka and keep their state in RocksDB / on the JVM heap: no Redis. */
export function modeLabel(arch: string, mode: string): string {
  return arch in PEER_ARCHS ? 'Kafka' : (MODE_LABEL[mode] ?? mode);
}

/** Highest sustained step per architecture and mode (null: none of the steps run). */
export function highestSustained(
  rows: LoadRow[],
): Array<{ arch: string; mode: string; rate: number | null }> {
  const keys = [...new Set(rows.map((r) => `${r.arch}|${r.mode}`))];
  return keys.map((k) => {
    const [arch, mode] = k.split('|') as [string, string];
    const ok = rows.filter((r) => r.arch === arch && r.mode === mode && r.sustained).map((r) => r.targetRate);
    return { arch, mode, rate: ok.length ? Math.max(...ok) : null };
  });
}

export interface ReplayRow {
  events: number;
  what: string;
  /** ours: embedded / kafka; peer: Kafka Streams; flink: Flink; ceiling: ConsumerPerformance. */
  kind: 'embedded' | 'kafka' | 'peer' | 'peer-steady' | 'flink' | 'flink-steady' | 'ceiling';
  eventsPerSec: number;
  seconds: number | null;
  peakRssBytes: number | null;
  command: string;
}

interface PeerReplayJson {
  eventsPerSec: number;
  eventsPerSecFromFirstRecord: number;
  seconds: number;
  startupMs: number;
  events: number;
  peakRssBytes: number;
}

interface ReplayResultJson {
  events: number;
  seconds: number;
  rate: number;
}

export function replayRows(r: BenchResults): ReplayRow[] {
  const out: ReplayRow[] = [];
  for (const x of r.runs.filter((y) => y.part === 'replay' && y.ok && y.report)) {
    const rep = x.report!;
    const rss = num(rep.peakRssBytes);
    const emb = rep.embedded as { results: Record<string, ReplayResultJson> } | null;
    for (const [label, v] of Object.entries(emb?.results ?? {}))
      out.push({
        events: v.events,
        what: `ours, embedded log: ${label}`,
        kind: 'embedded',
        eventsPerSec: Math.round(v.rate),
        seconds: v.seconds,
        peakRssBytes: rss,
        command: x.command,
      });
    const k = rep.kafka as {
      events: number;
      results: Record<string, ReplayResultJson>;
      javaConsumerPerf: Record<string, number> | { error: string };
      peer: PeerReplayJson | { error: string } | null;
      flinkPeer?: PeerReplayJson | { error: string } | null;
    } | null;
    if (!k) continue;
    for (const [label, v] of Object.entries(k.results))
      out.push({
        events: v.events,
        what: `ours, Kafka → Redis: ${label}`,
        kind: 'kafka',
        eventsPerSec: Math.round(v.rate),
        seconds: v.seconds,
        peakRssBytes: rss,
        command: x.command,
      });
    const peers = [
      [k.peer, 'Kafka Streams peer (Java), from start() (group join incl., like ours)', 'peer'],
      [k.flinkPeer, 'Flink peer (Java, local MiniCluster), from job submission (like ours)', 'flink'],
    ] as const;
    for (const [peer, what, kind] of peers) {
      if (!peer || 'error' in peer) continue;
      const label = kind === 'peer' ? 'Kafka Streams peer (Java)' : 'Flink peer (Java)';
      out.push({
        events: peer.events,
        what,
        kind,
        eventsPerSec: peer.eventsPerSec,
        seconds: peer.seconds,
        peakRssBytes: peer.peakRssBytes,
        command: x.command,
      });
      out.push({
        events: peer.events,
        what: `${label}, from its first record (start-up of ${fmt(peer.startupMs)} ms left out)`,
        kind: `${kind}-steady`,
        eventsPerSec: peer.eventsPerSecFromFirstRecord,
        seconds: null,
        peakRssBytes: peer.peakRssBytes,
        command: x.command,
      });
    }
    const perf = k.javaConsumerPerf;
    if (perf && !('error' in perf) && perf['nMsg.sec'] !== undefined)
      out.push({
        events: perf['data.consumed.in.nMsg'] ?? k.events,
        what: 'Kafka ConsumerPerformance (Java; consume only, no parsing)',
        kind: 'ceiling',
        eventsPerSec: Math.round(perf['nMsg.sec']),
        seconds: null,
        peakRssBytes: null,
        command: x.command,
      });
  }
  return out;
}

export interface MapReduceRow {
  events: number;
  mapreduceMs: number;
  plainMs: number;
  phases: string;
  peakRssBytes: number | null;
  command: string;
}

export function mapreduceRows(r: BenchResults): MapReduceRow[] {
  return r.runs
    .filter((x) => x.part === 'mapreduce' && x.ok && x.report)
    .map((x) => {
      const med = x.report!.median as {
        mapreduceMs: number;
        plainMs: number;
        phases: Record<string, number>;
      };
      const args = x.report!.args as { events: number };
      return {
        events: args.events,
        mapreduceMs: Math.round(med.mapreduceMs),
        plainMs: Math.round(med.plainMs),
        phases: ['map', 'shuffle', 'reduce', 'publish'].map((p) => med.phases[p] ?? '?').join(' / '),
        peakRssBytes: num(x.report!.peakRssBytes),
        command: x.command,
      };
    });
}

/** Ratios ours / peer, printed by run-all and shown in BENCHMARKS.md. */
export function peerRatios(r: BenchResults): string[] {
  const lines: string[] = [];
  const replay = replayRows(r);
  for (const n of [...new Set(replay.map((x) => x.events))]) {
    const ours = replay.filter((x) => x.events === n && x.kind === 'kafka');
    const peer = replay.find((x) => x.events === n && x.kind === 'peer');
    const steady = replay.find((x) => x.events === n && x.kind === 'peer-steady');
    const ceiling = replay.find((x) => x.events === n && x.kind === 'ceiling');
    if (!ours.length) continue;
    const best = ours.reduce((a, b) => (a.eventsPerSec >= b.eventsPerSec ? a : b));
    if (peer)
      lines.push(
        `replay of ${fmt(n)} events from Kafka: ours ${fmt(best.eventsPerSec)} / Kafka Streams ${fmt(peer.eventsPerSec)} events/s = ${(best.eventsPerSec / peer.eventsPerSec).toFixed(2)} (both from start, group join included)`,
      );
    if (steady)
      lines.push(
        `replay of ${fmt(n)} events from Kafka: ours ${fmt(best.eventsPerSec)} / Kafka Streams from its first record ${fmt(steady.eventsPerSec)} events/s = ${(best.eventsPerSec / steady.eventsPerSec).toFixed(2)} (the peer's start-up left out: the conservative ratio)`,
      );
    const flink = replay.find((x) => x.events === n && x.kind === 'flink');
    const flinkSteady = replay.find((x) => x.events === n && x.kind === 'flink-steady');
    if (flink)
      lines.push(
        `replay of ${fmt(n)} events from Kafka: ours ${fmt(best.eventsPerSec)} / Flink ${fmt(flink.eventsPerSec)} events/s = ${(best.eventsPerSec / flink.eventsPerSec).toFixed(2)} (both from start, job submission included)`,
      );
    if (flinkSteady)
      lines.push(
        `replay of ${fmt(n)} events from Kafka: ours ${fmt(best.eventsPerSec)} / Flink from its first record ${fmt(flinkSteady.eventsPerSec)} events/s = ${(best.eventsPerSec / flinkSteady.eventsPerSec).toFixed(2)} (the peer's start-up left out: the conservative ratio)`,
      );
    if (ceiling)
      lines.push(
        `replay of ${fmt(n)} events from Kafka: ours ${fmt(best.eventsPerSec)} / ConsumerPerformance ${fmt(ceiling.eventsPerSec)} events/s = ${(best.eventsPerSec / ceiling.eventsPerSec).toFixed(2)}`,
      );
    // Each peer's share of the ceiling (the bar: at least 50 %), from start and from its first record.
    for (const [name, start, first] of [
      ['Kafka Streams', peer, steady],
      ['Flink', flink, flinkSteady],
    ] as const)
      if (ceiling && start && first)
        lines.push(
          `replay of ${fmt(n)} events from Kafka: ${name} / ConsumerPerformance ${fmt(start.eventsPerSec)} / ${fmt(ceiling.eventsPerSec)} events/s = ${(start.eventsPerSec / ceiling.eventsPerSec).toFixed(2)} from start, ${(first.eventsPerSec / ceiling.eventsPerSec).toFixed(2)} from its first record`,
        );
  }
  const load = loadRows(r).filter((x) => x.mode === 'distributed');
  for (const [arch, name] of Object.entries(PEER_ARCHS))
    for (const rate of [...new Set(load.map((x) => x.targetRate))]) {
      const peer = load.find((x) => x.targetRate === rate && x.arch === arch);
      if (!peer || peer.p50 === null || peer.p99 === null) continue;
      for (const ours of load.filter((x) => x.targetRate === rate && !(x.arch in PEER_ARCHS))) {
        if (ours.p50 === null || ours.p99 === null) continue;
        lines.push(
          `final-event latency at ${rate.toLocaleString('en')} events/s on Kafka: ${ARCH_LABEL[ours.arch]} p50 ${ours.p50} / ${peer.p50} ms = ${(ours.p50 / Math.max(1, peer.p50)).toFixed(2)}, p99 ${ours.p99} / ${peer.p99} ms = ${(ours.p99 / Math.max(1, peer.p99)).toFixed(2)} (ours / ${name}; lower is better)`,
        );
      }
    }
  const ceiling = r.runs.find((x) => x.part === 'ceiling' && x.ok)?.report?.results as
    { oursConsumeEventsPerSec: number; javaConsumerPerfEventsPerSec: number } | undefined;
  if (ceiling)
    lines.push(
      `raw consumption: our Kafka consumer + JSON.parse ${fmt(ceiling.oursConsumeEventsPerSec)} / ConsumerPerformance ${fmt(ceiling.javaConsumerPerfEventsPerSec)} events/s = ${(ceiling.oursConsumeEventsPerSec / ceiling.javaConsumerPerfEventsPerSec).toFixed(2)}`,
    );
  return lines;
}

export function mib(bytes: number | null): string {
  return bytes === null || bytes < 0 ? '—' : `${Math.round(bytes / 2 ** 20).toLocaleString('en')} MiB`;
}

/** Peak RSS per component: the largest seen for each bench process kind. */
export function memoryRows(
  r: BenchResults,
): Array<{ component: string; peakRssBytes: number; command: string }> {
  const out = new Map<string, { component: string; peakRssBytes: number; command: string }>();
  const put = (component: string, bytes: number | null, command: string): void => {
    if (bytes === null || bytes <= 0) return;
    const cur = out.get(component);
    if (!cur || bytes > cur.peakRssBytes) out.set(component, { component, peakRssBytes: bytes, command });
  };
  for (const x of loadRows(r))
    put(
      x.arch in PEER_ARCHS
        ? `${PEER_ARCHS[x.arch]} peer, live (JVM)`
        : x.mode === 'embedded'
          ? `${ARCH_LABEL[x.arch]}, embedded (incl. the generator and the log)`
          : `${ARCH_LABEL[x.arch]}, on Kafka + Redis`,
      x.peakRssBytes,
      x.command,
    );
  for (const x of replayRows(r)) {
    if (x.kind === 'peer') put('Kafka Streams peer, replay (JVM)', x.peakRssBytes, x.command);
    if (x.kind === 'flink') put('Flink peer, replay (JVM)', x.peakRssBytes, x.command);
    if (x.kind === 'embedded' || x.kind === 'kafka')
      put('Kappa replay (incl. producing the history)', x.peakRssBytes, x.command);
  }
  for (const x of mapreduceRows(r))
    put('batch layer: MapReduce over DuckDB (incl. writing the splits)', x.peakRssBytes, x.command);
  const serving = r.runs.find((x) => x.part === 'serving' && x.ok);
  if (serving)
    put(
      'whole embedded lab under API load (serving-bench)',
      num(serving.report?.peakRssBytes),
      serving.command,
    );
  const ceiling = r.runs.find((x) => x.part === 'ceiling' && x.ok);
  if (ceiling)
    put('Kafka adapter: produce + consume (kafka-bench)', num(ceiling.report?.peakRssBytes), ceiling.command);
  return [...out.values()];
}
