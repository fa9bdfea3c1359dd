import { Session, console as inspectorConsole } from 'node:inspector';

/**
 * Which component a sampled main-thread stack belongs to, by the source folder of its innermost
 * frame that is the lab's own code or a library one component uses (the top-level folders are the
 * architecture: STYLE.md). Frames of shared plumbing (node:internal, DuckDB's bindings, anonymous
 * builtins such as JSON.stringify) defer to their caller.
 */
const FOLDERS: Array<[RegExp, string]> = [
  [/\/speed-layer\//, 'speed-layer'],
  [/\/batch-layer\/(batch-ingestor|split-writer|master-dataset)\./, 'batch-ingest'],
  [/\/batch-layer\//, 'batch-mapreduce'],
  [/\/kappa-reprocessor\//, 'kappa-reprocessor'],
  [/\/measurement\/truth-oracle\./, 'truth-oracle'],
  [/\/measurement\/cpu-(meter|sampler)\./, 'measurement'],
  [/\/measurement\//, 'measurement'],
  [/\/scenarios\//, 'scenarios'],
  [/\/kernel\/adapters\/(embedded-log|kafka-log)\//, 'event-log'],
  [/\/node_modules\/kafkajs\//, 'event-log'],
  [/\/kernel\/adapters\/(embedded-store|redis-store)\//, 'realtime-store'],
  [/\/node_modules\/ioredis\//, 'realtime-store'],
  [/\/kernel\/adapters\/(embedded-queue|bullmq-queue)\//, 'job-queue'],
  [/\/node_modules\/bullmq\//, 'job-queue'],
  [/\/kernel\/workload\//, 'generator'],
  [/\/kernel\/ingest\//, 'ingest'],
  [/\/(serving-layer|dashboard)\//, 'serving-layer'],
  [
    /\/node_modules\/(fastify|@fastify|find-my-way|avvio|fast-json-stringify|light-my-request|pino|ajv|fast-uri|json-schema-ref-resolver|secure-json-parse|toad-cache)\//,
    'serving-layer',
  ],
  [/^node:_http_|^node:http$|^node:internal\/http/, 'serving-layer'],
];

/** The component of one frame's script URL; undefined = defer to the caller. */
export function componentOfUrl(url: string): string | undefined {
  if (url === '' || url.includes('/node_modules/@duckdb/')) return undefined;
  for (const [re, component] of FOLDERS) if (re.test(url)) return component;
  return undefined;
}

/** What a stack with no frame of a known component is: V8's GC, or the runtime (libuv, timers, ...). */
const GC = 'v8-gc';
const RUNTIME = 'node-runtime';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * A sampling profile of the main thread (V8's CPU profiler through node:inspector, in-process),
 * harvested every few seconds and folded into time per component. The CPU meter uses the shares
 * to attribute the process CPU its precise measurements did not cover. Samples inside a section
 * the meter already measured (its `measure` frame) are skipped, so nothing is counted twice.
 *
 * Harvests overlap two console profiles (inspector console.profile(next), then profileEnd(previous))
 * so the profiler never stops: stopping and starting it again (Profiler.stop / Profiler.start) makes
 * V8 log every compiled function anew, 60–100 ms of the main thread each time, which put the
 * serving layer's p99 at 1,000 queries/s over 100 ms. A harvest costs about 1 ms.
 */
export class CpuSampler {
  /** One sampler per process: several labs in one process (scenario runs) would profile the same thread. */
  private static owner: CpuSampler | undefined;
  private session: Session | undefined;
  private current: string | undefined;
  private seq = 0;
  private readonly finished = new Map<string, Profile>();

  constructor(private readonly intervalUs = 5_000) {}

  get running(): boolean {
    return this.session !== undefined;
  }

  /** Starts profiling; throws when another sampler of this process runs. */
  async start(): Promise<void> {
    if (this.session) return;
    if (CpuSampler.owner) throw new Error('another CPU sampler runs in this process');
    CpuSampler.owner = this;
    const s = new Session();
    s.connect();
    this.session = s;
    s.on('Profiler.consoleProfileFinished', (m: { params: { title?: string; profile: Profile } }) => {
      if (m.params.title?.startsWith(TITLE)) this.finished.set(m.params.title, m.params.profile);
    });
    try {
      await this.post('Profiler.enable');
      await this.post('Profiler.setSamplingInterval', { interval: this.intervalUs });
      this.current = this.nextTitle();
      inspectorConsole.profile(this.current);
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  stop(): void {
    const s = this.session;
    this.session = undefined;
    if (CpuSampler.owner === this) CpuSampler.owner = undefined;
    if (!s) return;
    if (this.current) inspectorConsole.profileEnd(this.current);
    this.current = undefined;
    this.finished.clear();
    s.disconnect();
  }

  /** Ends the current profile (the next one already runs) and returns ms per component of it. */
  async harvest(): Promise<Map<string, number>> {
    const previous = this.current;
    if (!this.session || !previous) return new Map();
    this.current = this.nextTitle();
    inspectorConsole.profile(this.current);
    inspectorConsole.profileEnd(previous);
    // The inspector delivers the finished profile as an event, at once or within a tick.
    for (let i = 0; i < 10 && !this.finished.has(previous); i++) await new Promise(setImmediate);
    const profile = this.finished.get(previous);
    this.finished.delete(previous);
    return profile ? foldProfile(profile) : new Map();
  }

  private nextTitle(): string {
    return `${TITLE}${++this.seq}`;
  }

  private post(method: string, params?: Record<string, unknown>): Promise<unknown> {
    const s = this.session;
    if (!s) return Promise.reject(new Error('the CPU sampler is stopped'));
    return new Promise((resolve, reject) =>
      s.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))),
    );
  }
}

const TITLE = 'lklab-cpu-attribution-';

/** ms of main-thread time per component in a V8 CPU profile (idle and already-measured samples left out). */
export function foldProfile(profile: Profile): Map<string, number> {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const componentOf = new Map<number, string | null>();
  const classify = (leaf: number): string | null => {
    const known = componentOf.get(leaf);
    if (known !== undefined) return known;
    let found: string | undefined;
    let measured = false;
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (f.functionName === 'measure' && /\/measurement\/cpu-meter\./.test(f.url)) {
        measured = true;
        break;
      }
      found ??= componentOfUrl(f.url);
    }
    const name = byId.get(leaf)!.callFrame.functionName;
    const result = measured
      ? null
      : name === '(idle)'
        ? null
        : (found ?? (name === '(garbage collector)' ? GC : RUNTIME));
    componentOf.set(leaf, result);
    return result;
  };
  const out = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; the time a sample stands for is the next delta.
  for (let i = 0; i < samples.length; i++) {
    const c = classify(samples[i]!);
    if (c === null) continue;
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    out.set(c, (out.get(c) ?? 0) + ms);
  }
  return out;
}
