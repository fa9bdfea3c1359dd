/**
 * Runs a benchmark peer — the YSB query as a Kafka Streams application
 * (bench/peers/kafka-streams-ysb, Java) or as an Apache Flink job on a local MiniCluster
 * (bench/peers/flink-ysb, Java) — on a Kafka topic of YSB JSON events, and returns the one JSON
 * line it prints. Both peers take the same flags and print the same fields. Used by
 * kappa-replay-bench (`--peer`: replay over a catch-up topic) and speed-latency-bench
 * (`--arch kafka-streams|flink`: final-event latency on a live step).
 *
 * The ad → campaign mapping is handed over as a file in GET /api/reference/ads's shape, written
 * from the same deterministic reference data every layer of the lab joins against.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildReferenceData } from '../kernel/workload/reference-data.js';

export interface PeerReplayResult {
  mode: 'replay';
  events: number;
  views: number;
  viewsCounted: number;
  countSum: number;
  windows: number;
  seconds: number;
  eventsPerSec: number;
  eventsPerSecFromFirstRecord: number;
  startupMs: number;
  threads: number;
  /** Set by the Kafka Streams peer. */
  kafkaStreamsVersion?: string;
  /** Set by the Flink peer. */
  flinkVersion?: string;
  peakRssBytes: number;
}

export interface PeerLiveResult {
  mode: 'live';
  events: number;
  views: number;
  achievedRate: number;
  windows: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  startupMs: number;
  threads: number;
  /** Set by the Kafka Streams peer. */
  kafkaStreamsVersion?: string;
  /** Set by the Flink peer. */
  flinkVersion?: string;
  peakRssBytes: number;
}

/** The peers: YSB on Kafka Streams, YSB on Apache Flink. */
export const PEERS = ['kafka-streams', 'flink'] as const;
export type PeerName = (typeof PEERS)[number];

export const PEER_LABEL: Record<PeerName, string> = {
  'kafka-streams': 'Kafka Streams',
  flink: 'Flink',
};

export interface PeerOptions {
  /** Which peer; default kafka-streams. */
  peer?: PeerName;
  brokers: string;
  /** The physical Kafka topic (with the lab namespace prefix, if any). */
  topic: string;
  /** Stream threads (Kafka Streams) or parallelism (Flink); default: the peer's, the number of cores. */
  threads?: number;
  /** Called once the Kafka Streams instance is RUNNING or every Flink source subtask runs (live mode: start the producers then). */
  onReady?: () => void;
}

const repoRoot = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

const PEER_DIR: Record<PeerName, string> = { 'kafka-streams': 'kafka-streams-ysb', flink: 'flink-ysb' };

/** bench/peers/<dir>/peer.sh of a peer. */
export function peerScript(peer: PeerName = 'kafka-streams'): string {
  return join(repoRoot, 'bench', 'peers', PEER_DIR[peer], 'peer.sh');
}

export const PEER_SCRIPT = peerScript('kafka-streams');

/** Compiles the peer (Maven) unless it is up to date; resolves when done. */
export async function buildPeer(peer: PeerName = 'kafka-streams'): Promise<void> {
  await runScript(peer, ['build'], undefined);
}

/** Replay: from the earliest offset until `events` records went through the source. */
export async function peerReplay(o: PeerOptions & { events: number }): Promise<PeerReplayResult> {
  return (await runPeer(o, ['--mode', 'replay', '--events', String(o.events)])) as PeerReplayResult;
}

/** Live: `seconds` of traffic (produced by the caller after onReady), then `drain` seconds. */
export async function peerLive(
  o: PeerOptions & { seconds: number; drain?: number },
): Promise<PeerLiveResult> {
  return (await runPeer(o, [
    '--mode',
    'live',
    '--seconds',
    String(o.seconds),
    '--drain',
    String(o.drain ?? 15),
  ])) as PeerLiveResult;
}

async function runPeer(o: PeerOptions, modeArgs: string[]): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-peer-'));
  const ref = buildReferenceData();
  const adsFile = join(dir, 'ads.json');
  writeFileSync(adsFile, JSON.stringify({ ads: ref.ads }));
  try {
    const peer = o.peer ?? 'kafka-streams';
    const stdout = await runScript(
      peer,
      [
        'run',
        '--bootstrap',
        o.brokers,
        '--topic',
        o.topic,
        '--ads',
        adsFile,
        ...(o.threads ? ['--threads', String(o.threads)] : []),
        '--app-id',
        `lklab-ysb-${peer}-${randomUUID().slice(0, 8)}`,
        '--state-dir',
        dir,
        ...modeArgs,
      ],
      o.onReady,
    );
    const line = stdout
      .trim()
      .split('\n')
      .findLast((l) => l.startsWith('{'));
    if (!line) throw new Error(`the ${PEER_LABEL[peer]} peer printed no result:\n${stdout.slice(-2000)}`);
    return JSON.parse(line) as unknown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runScript(peer: PeerName, args: string[], onReady: (() => void) | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [peerScript(peer), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (onReady && /^ready$/m.test(stderr)) {
        const f = onReady;
        onReady = undefined;
        f();
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(
            `bench/peers/${PEER_DIR[peer]}/peer.sh ${args[0]} exited with ${String(code)}:\n${stderr.slice(-3000)}`,
          ),
        );
    });
  });
}
