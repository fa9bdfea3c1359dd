import { Type, type TSchema } from '@sinclair/typebox';

const nonNegInt = (description: string): TSchema => Type.Integer({ minimum: 0, description });
const share = (description: string): TSchema => Type.Number({ minimum: 0, maximum: 1, description });
const strict = { additionalProperties: false } as const;

/** The configuration schema; unknown keys are rejected everywhere. */
export const ConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ minLength: 1, description: 'Interface to bind (default 127.0.0.1).' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port (0 = any free port).' }),
        token: Type.String({
          pattern: '^(|[\\x21-\\x7e]{16,512})$',
          description:
            'Bearer token of the control routes: empty, or 16 to 512 printable ASCII characters without spaces (e.g. openssl rand -hex 32).',
        }),
        rateLimit: nonNegInt('Requests per minute per client address to /api routes (0 = off).'),
        maxBodyBytes: Type.Integer({
          minimum: 1024,
          description: 'Largest request body of every route except POST /api/events, in bytes.',
        }),
        maxStreams: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          description: 'Server-Sent Event streams (GET /api/stream) open at once.',
        }),
        shutdownTimeoutMs: Type.Integer({
          minimum: 100,
          maximum: 600_000,
          description: 'Longest a graceful stop (SIGTERM/SIGINT) may take, in ms.',
        }),
      },
      strict,
    ),
    scenarios: Type.Object(
      {
        maxLiveRuns: Type.Integer({ minimum: 1, maximum: 16, description: 'Live scenario runs at once.' }),
        maxFastRuns: Type.Integer({ minimum: 1, maximum: 16, description: 'Fast scenario runs at once.' }),
        maxQueuedRuns: Type.Integer({
          minimum: 0,
          maximum: 1000,
          description: 'Scenario runs waiting for a slot (0 = none: a run without a free slot is refused).',
        }),
        keepRuns: Type.Integer({ minimum: 1, maximum: 10_000, description: 'Finished scenario runs kept.' }),
      },
      strict,
    ),
    namespace: Type.String({
      pattern: '^[a-zA-Z0-9_-]{0,40}$',
      description: 'Prefix for topics, groups and Redis keys (letters, digits, - and _).',
    }),
    dataDir: Type.String({ minLength: 1, description: 'Data directory.' }),
    generator: Type.Object(
      {
        rate: Type.Number({ minimum: 0, maximum: 10_000_000, description: 'Events per second; 0 = off.' }),
        mode: Type.Union([Type.Literal('live'), Type.Literal('skew')], { description: 'live or skew.' }),
        seed: Type.Integer({ description: 'Seed of the event stream.' }),
        tickMs: Type.Integer({ minimum: 1, maximum: 10_000, description: 'Append interval in ms.' }),
        producerWorkers: Type.Integer({
          minimum: 0,
          maximum: 64,
          description: 'On Kafka: producer threads the generator appends through (0 = its own thread).',
        }),
        knobs: Type.Object(
          {
            lateFraction: share('Share of late events.'),
            maxLatenessMs: nonNegInt('Largest lateness in ms.'),
            outOfOrderEvery: nonNegInt('Out-of-order burst period in events (0 = off).'),
            outOfOrderBurst: nonNegInt('Events per out-of-order burst.'),
            duplicateFraction: share('Share of duplicated events.'),
            malformedFraction: share('Share of malformed records.'),
            hotCampaignShare: share('Share of events for the hot campaign.'),
            botShare: share('Share of events from bot users.'),
          },
          strict,
        ),
      },
      strict,
    ),
    reference: Type.Object(
      {
        seed: Type.Integer(),
        campaigns: Type.Integer({ minimum: 1, maximum: 100_000 }),
        adsPerCampaign: Type.Integer({ minimum: 1, maximum: 1000 }),
        userPool: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
        pagePool: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
        bots: Type.Integer({ minimum: 0, maximum: 100_000 }),
      },
      strict,
    ),
    log: Type.Object(
      {
        partitions: Type.Integer({ minimum: 1, maximum: 256 }),
        retentionMs: nonNegInt('Retention by age in ms (0 = forever).'),
        retentionBytes: nonNegInt('Retention by size per partition in bytes (0 = no limit).'),
        segmentBytes: Type.Integer({ minimum: 1024, description: 'Segment size in bytes.' }),
        fsyncIntervalMs: nonNegInt('fsync interval in ms (0 = every append).'),
      },
      strict,
    ),
    backpressure: Type.Object(
      {
        maxLagEvents: nonNegInt('Consumer lag in events past which producers wait (0 = off).'),
        maxScheduleLagMs: nonNegInt(
          'How far behind its schedule the generator may fall before it skips ahead, in ms (0 = never).',
        ),
        refreshMs: Type.Integer({
          minimum: 10,
          maximum: 60_000,
          description: 'Lag measurement interval in ms.',
        }),
      },
      strict,
    ),
    ingest: Type.Object(
      {
        maxRecordBytes: Type.Integer({ minimum: 64 }),
        maxBodyBytes: Type.Integer({ minimum: 1024 }),
        maxFutureMs: nonNegInt('Latest accepted event_time relative to now, in ms.'),
        requireKnownAds: Type.Boolean(),
      },
      strict,
    ),
    batch: Type.Object(
      {
        intervalMs: nonNegInt('Batch recompute interval in ms (0 = on demand only).'),
        ingestIntervalMs: Type.Integer({ minimum: 100, description: 'Split close interval in ms.' }),
        maxSplitEvents: Type.Integer({ minimum: 1, description: 'Events per split at most.' }),
        reducers: Type.Integer({ minimum: 1, maximum: 256, description: 'Reduce partitions.' }),
        keepVersions: Type.Integer({ minimum: 1, maximum: 100, description: 'Batch view versions kept.' }),
        localWorkers: Type.Integer({ minimum: 0, maximum: 64, description: 'In-process task concurrency.' }),
        taskAttempts: Type.Integer({ minimum: 1, maximum: 20, description: 'Attempts per task.' }),
        taskTimeoutMs: Type.Integer({ minimum: 1000, description: 'Task timeout in ms.' }),
        logicVersion: Type.Integer({ minimum: 1, description: 'Initial batch logic version.' }),
        duckdbThreads: Type.Integer({
          minimum: 1,
          maximum: 256,
          description: "Threads of the batch layer's DuckDB.",
        }),
        duckdbMemoryLimit: Type.String({
          pattern: '^[0-9]+(\\.[0-9]+)?\\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$',
          description: "Memory cap of the batch layer's DuckDB, e.g. 512MB.",
        }),
      },
      strict,
    ),
    speed: Type.Object(
      {
        flushIntervalMs: Type.Integer({ minimum: 10, maximum: 60_000, description: 'Flush interval in ms.' }),
        logicVersion: Type.Integer({ minimum: 1, description: 'Initial speed logic version.' }),
      },
      strict,
    ),
    kappa: Type.Object(
      {
        logicVersion: Type.Integer({ minimum: 1, description: 'Initial Kappa logic version.' }),
        checkpointIntervalMs: Type.Integer({
          minimum: 10,
          maximum: 600_000,
          description: 'Checkpoint (state + offsets, atomic) interval in ms.',
        }),
        maxOutOfOrderMs: nonNegInt('Watermark lag behind the highest event time per partition, in ms.'),
        allowedLatenessMs: nonNegInt('How long after its end a window takes late events, in ms.'),
        catchUpLagThreshold: nonNegInt('Replay lag (events) at or under which it counts as caught up.'),
        catchUpDwellMs: nonNegInt('How long the lag must stay under the threshold, in ms.'),
        autoSwitchover: Type.Boolean({ description: 'Switch readers to a caught-up replay automatically.' }),
        verifyWindows: Type.Integer({
          minimum: 0,
          maximum: 1_000,
          description:
            'Closed windows compared with the truth (and the live job) before a switchover; a difference refuses it (0 = off).',
        }),
        cutoverMode: Type.Union([Type.Literal('flip'), Type.Literal('overlap'), Type.Literal('gate')], {
          description: 'How readers move from job N to N+1 at a switchover: flip, overlap or gate.',
        }),
        overlapMs: nonNegInt('overlap cutover: how long both tables are served summed, in ms.'),
        idleTimeoutMs: nonNegInt(
          'gate cutover: event-time lag (ms) after which a fully read partition is idle and does not hold T back.',
        ),
        graceMs: nonNegInt('How long the previous job is kept after a switchover, in ms.'),
        replayParallelism: Type.Integer({
          minimum: 0,
          maximum: 64,
          description: 'Replay worker threads / consumers (0 = one per core).',
        }),
        replayRateLimit: nonNegInt('Default replay rate limit in events/s (0 = unlimited).'),
        maxBatchRecords: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Records per batch.' }),
        retentionMarginMs: nonNegInt(
          'Margin the topic retention must leave beyond the oldest record, in ms.',
        ),
      },
      strict,
    ),
    measurement: Type.Object(
      {
        intervalMs: Type.Integer({
          minimum: 100,
          maximum: 3_600_000,
          description: 'Snapshot interval in ms.',
        }),
        historySize: Type.Integer({ minimum: 1, maximum: 100_000, description: 'Snapshots kept.' }),
        horizonMs: Type.Integer({
          minimum: 10_000,
          description: 'Event time compared below the closed edge, in ms.',
        }),
        allowedLatenessMs: nonNegInt(
          'A window is closed when its end + this ≤ the highest event time read, in ms.',
        ),
        latencySettleMs: nonNegInt('Final-event latency is read this long after a window ends, in ms.'),
        sourceDir: Type.String({
          description: 'Folder whose logic files are counted ("" = the lab source).',
        }),
        cpuSampleIntervalUs: Type.Integer({
          minimum: 0,
          maximum: 1_000_000,
          description: 'Sampling interval of the CPU attribution profile in µs (0 = off).',
        }),
        truthMemoryLimit: Type.String({
          pattern: '^[0-9]+(\\.[0-9]+)?\\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$',
          description: "Memory cap of the truth oracle's DuckDB, e.g. 256MB.",
        }),
      },
      strict,
    ),
    kafka: Type.Object(
      {
        brokers: Type.Array(Type.String({ pattern: '^[^\\s:]+:\\d{1,5}$' }), {
          description: 'host:port list.',
        }),
        clientId: Type.String({ minLength: 1 }),
      },
      strict,
    ),
    redis: Type.Object(
      { url: Type.String({ pattern: '^(|rediss?://.+)$', description: 'redis://host:port or empty.' }) },
      strict,
    ),
  },
  strict,
);
