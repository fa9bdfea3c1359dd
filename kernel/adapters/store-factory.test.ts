import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock/system-clock.js';
import { DEFAULTS, type LabConfig } from '../config/defaults.js';
import { describeWithRedis, redisUrl } from '../../test-support/infra.js';
import { EmbeddedJobQueue } from './embedded-queue/embedded-job-queue.js';
import {
  createJobQueue,
  createRealtimeStore,
  EMBEDDED_STORE_DIR,
  setDefaultJobQueueFactory,
  setDefaultRealtimeStoreFactory,
} from './store-factory.js';

function config(dataDir: string, url: string): LabConfig {
  const c = structuredClone(DEFAULTS) as LabConfig;
  c.dataDir = dataDir;
  c.redis.url = url;
  return c;
}

describe('store factory', () => {
  afterEach(() => {
    setDefaultRealtimeStoreFactory(undefined);
    setDefaultJobQueueFactory(undefined);
  });

  it('builds the embedded store under dataDir and the embedded queue when redis.url is empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lkl-factory-'));
    try {
      const store = await createRealtimeStore(config(dir, ''), systemClock);
      const queue = await createJobQueue(config(dir, ''), systemClock);
      expect([store.kind, queue.kind]).toEqual(['embedded', 'embedded']);
      await store.apply({ increments: [{ key: 'k', field: 'n', by: 1 }] });
      await store.close();
      await queue.close();
      expect(await readdir(join(dir, EMBEDDED_STORE_DIR))).toEqual(['realtime-store.json']);
      const again = await createRealtimeStore(config(dir, ''), systemClock);
      expect(await again.getFields('k')).toEqual({ n: '1' });
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses an injected factory until it is reset', async () => {
    const injected = new EmbeddedJobQueue({ clock: systemClock });
    const seen: string[] = [];
    setDefaultJobQueueFactory(async (c) => {
      seen.push(c.redis.url);
      return injected;
    });
    expect(await createJobQueue(config('/nonexistent', 'redis://injected:1'), systemClock)).toBe(injected);
    expect(seen).toEqual(['redis://injected:1']);
    setDefaultJobQueueFactory(undefined);
    const builtIn = await createJobQueue(config('/nonexistent', ''), systemClock);
    expect(builtIn).not.toBe(injected);
    await builtIn.close();
    await injected.close();
  });

  it('fails with LKL_ERR_STORE_UNAVAILABLE / LKL_ERR_QUEUE_UNAVAILABLE when redis.url points nowhere', async () => {
    const c = config('/nonexistent', 'redis://127.0.0.1:1');
    await expect(createRealtimeStore(c, systemClock)).rejects.toMatchObject({
      code: 'LKL_ERR_STORE_UNAVAILABLE',
    });
    await expect(createJobQueue(c, systemClock)).rejects.toMatchObject({ code: 'LKL_ERR_QUEUE_UNAVAILABLE' });
  });
});

describeWithRedis('store factory with Redis', () => {
  it('builds the Redis store and the BullMQ queue when redis.url is set', async () => {
    const c = config('/nonexistent', redisUrl()!);
    const store = await createRealtimeStore(c, systemClock);
    const queue = await createJobQueue(c, systemClock);
    try {
      expect([store.kind, queue.kind]).toEqual(['redis', 'bullmq']);
      await store.ping();
      await queue.ping();
    } finally {
      await store.close();
      await queue.close();
    }
  });
});
