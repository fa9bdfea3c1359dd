import { describe, expect, it } from 'vitest';
import { CpuSampler, componentOfUrl, foldProfile } from './cpu-sampler.js';

const root = 'file:///lab/dist';
const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url },
  children,
});

describe('CPU attribution by sampled stacks', () => {
  it('names the component of a frame by its source folder, deferring plumbing to the caller', () => {
    expect(componentOfUrl(`${root}/kernel/adapters/embedded-log/partition-log.js`)).toBe('event-log');
    expect(componentOfUrl(`${root}/kernel/adapters/embedded-store/embedded-realtime-store.js`)).toBe(
      'realtime-store',
    );
    expect(componentOfUrl(`${root}/batch-layer/batch-ingestor.js`)).toBe('batch-ingest');
    expect(componentOfUrl(`${root}/batch-layer/batch-views.js`)).toBe('batch-mapreduce');
    expect(componentOfUrl(`${root}/measurement/truth-oracle.js`)).toBe('truth-oracle');
    expect(componentOfUrl('file:///lab/node_modules/fastify/lib/route.js')).toBe('serving-layer');
    expect(componentOfUrl('node:_http_server')).toBe('serving-layer');
    expect(componentOfUrl('file:///lab/node_modules/@duckdb/node-api/lib/DuckDBConnection.js')).toBe(
      undefined,
    );
    expect(componentOfUrl('node:internal/timers')).toBe(undefined);
    expect(componentOfUrl('')).toBe(undefined);
  });

  it('folds samples into ms per component: innermost own frame wins, measured sections and idle are left out', () => {
    const profile = {
      nodes: [
        frame(1, '(root)', '', [2, 3, 4, 5, 8]),
        frame(2, '(idle)', ''),
        frame(3, '(garbage collector)', ''),
        frame(4, 'listOnTimeout', 'node:internal/timers', [6]),
        frame(5, '(program)', ''),
        frame(6, 'writeCheckpoint', `${root}/kernel/adapters/embedded-store/embedded-realtime-store.js`, [7]),
        frame(7, 'stringify', ''),
        frame(8, 'measure', `${root}/measurement/cpu-meter.js`, [9]),
        frame(9, 'onBatch', `${root}/speed-layer/speed-layer.js`),
      ],
      // timeDeltas[i + 1] is the time sample i stands for (µs).
      samples: [2, 7, 7, 3, 9, 5, 2],
      timeDeltas: [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000],
    };
    expect(Object.fromEntries(foldProfile(profile))).toEqual({
      'realtime-store': 5, // samples 1 and 2: 2 + 3 ms
      'v8-gc': 4,
      'node-runtime': 6,
    });
  });

  it('profiles this thread in-process, and only one sampler per process runs', async () => {
    const a = new CpuSampler(1000);
    await a.start();
    await expect(new CpuSampler().start()).rejects.toThrow(/another CPU sampler/);
    const until = performance.now() + 50;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    const shares = await a.harvest();
    a.stop();
    expect(x).toBeGreaterThan(0);
    expect([...shares.values()].reduce((s, v) => s + v, 0)).toBeGreaterThan(20);
    const b = new CpuSampler();
    await b.start(); // the first one stopped: a new one may run
    b.stop();
  });
});
