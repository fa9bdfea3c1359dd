/**
 * Every default in one place, with units. The schema (config-schema.ts) validates what
 * overrides them; load-config.ts merges defaults < config file < environment < CLI flags.
 */
export const DEFAULTS = {
  server: {
    /** Interface to bind; loopback by default. */
    host: '127.0.0.1',
    /** TCP port of the API and dashboard. */
    port: 3000,
    /**
     * Bearer token the control routes (replay, switchover, deploy, batch runs, ingest, ...) require
     * when set; REQUIRED when host is not a loopback address (the lab refuses to start without it).
     * Empty = no token (loopback only). At least 16 characters. Never printed.
     */
    token: '',
    /** Requests per minute per client address to /api routes; loopback clients are not limited; 0 = off. */
    rateLimit: 1200,
    /** Largest request body in bytes of every route except POST /api/events (ingest.maxBodyBytes). */
    maxBodyBytes: 1024 * 1024,
    /** Server-Sent Event streams (GET /api/stream) open at once; one more is answered 429. */
    maxStreams: 32,
    /** SIGTERM/SIGINT: longest a graceful stop may take, in ms; then the process exits at once (code 1). */
    shutdownTimeoutMs: 10_000,
  },
  /** Scenario runs started through the API (POST /api/scenarios/:id/runs); docs/limits.md. */
  scenarios: {
    /** Live runs (paced in real time, a lab each) running at once. */
    maxLiveRuns: 1,
    /** Fast runs (virtual clock, a lab each) running at once. */
    maxFastRuns: 1,
    /** Runs waiting for a free slot; one more is answered 429 with Retry-After. */
    maxQueuedRuns: 8,
    /** Finished runs kept in memory for GET /api/scenarios/runs (oldest dropped first). */
    keepRuns: 50,
  },
  /**
   * Isolates this lab on shared Kafka/Redis (several labs, parallel test suites): prefixes topics
   * and groups with `<namespace>.` and Redis keys with `lklab:<namespace>:`. Empty = no prefix.
   */
  namespace: '',
  /** Where the embedded log, master dataset, views and state live. */
  dataDir: '.lklab/data',
  generator: {
    /** Events per second; 0 = generator off (bring your own events). */
    rate: 1000,
    /** live | skew (YSB -w). Catch-up mode is `lklab generate --catch-up N`. */
    mode: 'live' as 'live' | 'skew',
    /** Seed of the event stream. */
    seed: 42,
    /**
     * How often the generator appends a batch to the log, in ms. Every append wakes each consumer
     * of its partitions, so at low rates the tick sets how often the whole pipeline runs: 100 ms
     * cost ~12 % less CPU than 50 ms in an idle lab at 1,000 events/s (docs/targets.md) and adds
     * at most 50 ms to a window's latency, next to the speed layer's 1 s flush.
     */
    tickMs: 100,
    /**
     * On Kafka: producer threads the generator appends through (each its own idempotent producer,
     * partition p written by thread p mod N; kernel/adapters/kafka-log/kafka-produce-pool.ts).
     * 0 = append on the generator's own thread. Ignored by the embedded log.
     */
    producerWorkers: 0,
    knobs: {
      lateFraction: 0,
      maxLatenessMs: 0,
      outOfOrderEvery: 0,
      outOfOrderBurst: 0,
      duplicateFraction: 0,
      malformedFraction: 0,
      hotCampaignShare: 0,
      botShare: 0,
    },
  },
  reference: {
    /** Seed of the ad → campaign reference data (and user/page pools, bots). */
    seed: 1,
    campaigns: 100,
    adsPerCampaign: 10,
    userPool: 100,
    pagePool: 100,
    bots: 10,
  },
  log: {
    /** Partitions of the ad-events topic. */
    partitions: 4,
    /** Retention by age in ms; 0 = keep forever. */
    retentionMs: 0,
    /** Retention by size per partition in bytes; 0 = no limit. */
    retentionBytes: 0,
    /** Segment size in bytes. */
    segmentBytes: 64 * 1024 * 1024,
    /** Embedded log: fsync interval in ms (0 = every append). */
    fsyncIntervalMs: 200,
  },
  backpressure: {
    /**
     * Consumer lag, in events, past which producers wait: the generator pauses, POST /api/events
     * answers 429 with Retry-After, `lklab import` and `lklab produce` slow down (docs/capacity.md).
     * 0 = off.
     */
    maxLagEvents: 200_000,
    /**
     * How far behind its schedule the live generator may fall (throttled, or slower than its rate)
     * before it skips ahead, in ms; the skipped events are counted as shed. 0 = never skip.
     */
    maxScheduleLagMs: 2_000,
    /** How often consumer lag is measured, in ms (Kafka: committed offsets, at least 1 s apart). */
    refreshMs: 100,
  },
  ingest: {
    /** Largest accepted record in bytes. */
    maxRecordBytes: 4096,
    /** Largest accepted request body of POST /api/events in bytes. */
    maxBodyBytes: 64 * 1024 * 1024,
    /** Latest accepted event_time, relative to now, in ms (7 days: a 50 M catch-up spans 5.8 days). */
    maxFutureMs: 7 * 24 * 3600 * 1000,
    /** Reject events whose ad_id is not in the reference data. */
    requireKnownAds: true,
  },
  batch: {
    /** Recompute the batch view every this many ms; 0 = only on demand (60 s suits a 5-minute demo). */
    intervalMs: 60_000,
    /**
     * Close a master-dataset split at least this often while events arrive, in ms. A batch run closes
     * one first anyway, so this only bounds what ingest buffers (at 1,000 events/s: ~4 MB); every split
     * costs a DuckDB COPY, two fsyncs and a manifest rewrite (5 s made batch ingest ~6 % of the idle CPU).
     */
    ingestIntervalMs: 15_000,
    /** Close a split when it holds this many events. */
    maxSplitEvents: 1_000_000,
    /** Reduce partitions (R) of the shuffle. */
    reducers: 4,
    /** Batch view versions kept on disk. */
    keepVersions: 3,
    /** Map/reduce tasks run at once by the in-process worker (embedded); 0 = none (use `lklab batch-worker`). */
    localWorkers: 2,
    /** Attempts per map/reduce task before the run fails. */
    taskAttempts: 3,
    /** Longest a task may take, in ms. */
    taskTimeoutMs: 600_000,
    /** Logic version deployed at first start (an SQL file in batch-layer/logic/). */
    logicVersion: 1,
    /** Threads of the batch layer's DuckDB (map/reduce tasks, split writes, view loads). */
    duckdbThreads: 2,
    /** Memory cap of the batch layer's DuckDB (DuckDB syntax); larger operators spill under <dataDir>/batch/tmp. */
    duckdbMemoryLimit: '512MB',
  },
  speed: {
    /** Flush pre-aggregated counts to the realtime store every this many ms (YSB: 1 s). */
    flushIntervalMs: 1_000,
    /** Logic version deployed at first start (a TS module in speed-layer/logic/). */
    logicVersion: 1,
  },
  kappa: {
    /** Logic version of the live Kappa job at first start (a TS module in kappa-reprocessor/logic/). */
    logicVersion: 1,
    /** Apply the pre-aggregated output AND the consumed offsets in one atomic store update every this many ms. */
    checkpointIntervalMs: 1_000,
    /** Watermark = highest event time seen in a partition − this, in ms (tolerated disorder). */
    maxOutOfOrderMs: 1_000,
    /** A window still takes late events (a revision) until the watermark passes its end + this, in ms; later ones are dead-lettered. */
    allowedLatenessMs: 60_000,
    /** A replay has caught up when its total lag is at most this many events ... */
    catchUpLagThreshold: 5_000,
    /** ... continuously for this many ms (after passing the end offsets snapshotted at its start). */
    catchUpDwellMs: 2_000,
    /** Switch readers to a caught-up replay at once; false = wait for POST /api/kappa/switchover. */
    autoSwitchover: true,
    /**
     * Switchover gate: compare the replay's table with the truth (and the live job) over this many
     * of the last closed windows before switching; a difference refuses the switch. 0 = off.
     */
    verifyWindows: 5,
    /**
     * How readers move from job N to N+1 at a switchover unless the request says (docs/kappa.md):
     * 'flip' (one atomic pointer flip), 'overlap' (both tables served summed for overlapMs) or
     * 'gate' (windows before cut-over event time T from N, the rest from N+1).
     */
    cutoverMode: 'flip' as 'flip' | 'overlap' | 'gate',
    /** overlap: how long readers are served both jobs' tables summed, in ms (at most graceMs). */
    overlapMs: 30_000,
    /**
     * gate: a partition job N has read to the log's end whose newest event time trails the newest
     * of all partitions by more than this (ms of event time) is idle and does not hold T back.
     */
    idleTimeoutMs: 30_000,
    /** Keep the previous job running, and its table, this many ms after a switchover (the rollback window). */
    graceMs: 600_000,
    /** Replay parallelism: worker threads (embedded log) or consumers in the group (Kafka); 0 = one per CPU core. */
    replayParallelism: 0,
    /** Default replay rate limit in events/s; 0 = as fast as possible. */
    replayRateLimit: 0,
    /** Records per batch handed to a Kappa job by the log. */
    maxBatchRecords: 10_000,
    /** Pre-flight: time retention must exceed the oldest record's age by this many ms (room for the replay itself). */
    retentionMarginMs: 600_000,
  },
  measurement: {
    /** Take a metrics snapshot (kept as history for plots) every this many ms. */
    intervalMs: 5_000,
    /** Snapshots kept in the history (720 × 5 s = 1 hour). */
    historySize: 720,
    /** Correctness covers the closed windows of this much event time (ms) below the closed edge. */
    horizonMs: 300_000,
    /** A window counts as closed (final, compared) when its end + this ≤ the highest event time read, in ms. */
    allowedLatenessMs: 60_000,
    /** A window's final-event latency is read this many ms after its end (no further update expected). */
    latencySettleMs: 3_000,
    /**
     * Main-thread sampling interval (µs) of the CPU attribution's profile (measurement/cpu-sampler.ts):
     * the CPU no precise measurement covers is split by it among the components; 0 = off (it stays "other").
     */
    cpuSampleIntervalUs: 50_000,
    /** Memory cap of the truth oracle's DuckDB (one thread; DuckDB syntax); it spills next to its file. */
    truthMemoryLimit: '256MB',
    /** Folder whose batch-layer/logic, speed-layer/logic and kappa-reprocessor/logic are counted; "" = the lab's own source. */
    sourceDir: '',
  },
  kafka: {
    /** Broker list, e.g. ["127.0.0.1:19092"]; empty = embedded log. */
    brokers: [] as string[],
    clientId: 'lklab',
  },
  redis: {
    /** e.g. redis://127.0.0.1:16379; empty = embedded realtime store and job queue. */
    url: '',
  },
};

export type LabConfig = typeof DEFAULTS;
