/**
 * Success answers of the routes that return a domain object (the lab's status, a batch run, a
 * Kappa job, ...), for the OpenAPI document and the contract tests run from it
 * (test/openapi-conformance.test.ts). Every object keeps `additionalProperties: true`: a response
 * schema is also the serializer's (fast-json-stringify), and one that listed fewer fields than the
 * object has would drop the others from the answer.
 */

const open = (properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: true,
  ...(required.length > 0 ? { required } : {}),
  properties,
});

const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
const nullableNum = { type: ['number', 'null'] } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

/** The generator's counters (GET /api/status .generator, POST /api/generator). */
export const generatorStatsSchema = open(
  {
    running: bool,
    rate: { type: 'number', description: 'events/s asked for (0 = stopped)' },
    mode: str,
    produced: int,
    achievedRate: { type: 'number', description: 'events/s appended over the last full second' },
    shed: int,
    throttledMs: num,
    throttled: bool,
    deadLettered: int,
    appendErrors: int,
    lastError: str,
  },
  ['running', 'rate', 'produced'],
);

/** GET /api/status. */
export const statusSchema = open(
  {
    mode: { type: 'string', enum: ['embedded', 'distributed'] },
    uptimeMs: num,
    topics: {
      type: 'array',
      items: open({
        name: str,
        partitions: { type: 'array', items: open({ partition: int, low: int, end: int }) },
        low: int,
        end: int,
      }),
    },
    groups: {
      type: 'array',
      items: open({
        group: str,
        topic: str,
        totalLag: int,
        partitions: {
          type: 'array',
          items: open({ partition: int, committed: nullableInt, end: int, lag: int }),
        },
      }),
    },
    generator: generatorStatsSchema,
    backpressure: open({ at: num, limit: int, maxLag: int, saturated: bool }),
    ingest: open({ accepted: int, rejected: int }),
    deadLetters: int,
  },
  ['mode', 'topics', 'groups', 'generator', 'ingest', 'deadLetters'],
);

/** GET /api/dead-letters. */
export const deadLettersSchema = open(
  {
    total: int,
    byReason: { type: 'object', additionalProperties: { type: 'integer' } },
    topic: str,
    recent: { type: 'array', items: anyObject },
  },
  ['total', 'byReason', 'topic', 'recent'],
);

/** GET /api/lambda. */
export const lambdaStateSchema = open(
  {
    batch: open({
      logicVersion: int,
      availableLogicVersions: { type: 'array', items: int },
      view: {
        type: ['object', 'null'],
        additionalProperties: true,
        properties: { version: int, boundary: int, logicVersion: int, events: int, createdAt: num },
      },
      boundaryLagMs: nullableNum,
      master: open({ splits: int, events: int, bytes: num }),
      ingestError: nullableStr,
    }),
    speed: open({ running: bool, logicVersion: int, availableLogicVersions: { type: 'array', items: int } }),
  },
  ['batch', 'speed'],
);

/** One batch run (batch-layer/batch-run.ts BatchRunRecord). */
export const batchRunSchema = open(
  {
    id: { type: 'integer', minimum: 1 },
    state: { type: 'string', enum: ['queued', 'map', 'shuffle', 'reduce', 'publish', 'completed', 'failed'] },
    trigger: str,
    logicVersion: int,
    requestedAt: num,
    startedAt: num,
    finishedAt: num,
    phases: open({ map: num, shuffle: num, reduce: num, publish: num }),
    splits: int,
    events: int,
    mapTasks: int,
    reduceTasks: int,
    mapRows: int,
    shuffleBytes: num,
    retries: int,
    boundary: int,
    viewVersion: int,
    error: str,
  },
  ['id', 'state', 'trigger', 'logicVersion', 'requestedAt'],
);

/** POST /api/lambda/deploy. */
export const deploySchema = open(
  {
    layer: { type: 'string', enum: ['batch', 'speed'] },
    logicVersion: int,
    batchLogicVersion: int,
    speedLogicVersion: int,
  },
  ['layer', 'logicVersion', 'batchLogicVersion', 'speedLogicVersion'],
);

const kappaJobState = {
  type: 'string',
  enum: ['live', 'replaying', 'caught-up', 'grace', 'retired', 'aborted'],
} as const;

/** A Kappa job's record (kappa-reprocessor/state/job-registry.ts KappaJobRecord). */
export const kappaJobSchema = open(
  {
    id: { type: 'integer', minimum: 1 },
    logicVersion: int,
    group: str,
    state: kappaJobState,
    kind: { type: 'string', enum: ['initial', 'replay'] },
    createdAt: num,
    snapshot: { type: ['array', 'null'], items: open({ partition: int, end: int }) },
    rateLimit: num,
    parallelism: int,
    force: bool,
    source: {
      type: 'string',
      enum: ['log', 'archive'],
      description:
        "where a replay reads history: the log from offset 0, or the archive (Kappa+) up to the cut-over, then the log; absent on jobs recorded before = 'log'",
    },
    cutover: {
      type: ['array', 'null'],
      items: open({ partition: int, cutover: int }),
      description:
        'an archive replay: per partition the archive supplies offsets [0, cutover), the log the rest',
    },
    warnings: { type: 'array', items: str },
    caughtUpAt: nullableNum,
    activatedAt: nullableNum,
    deactivatedAt: nullableNum,
    retireAt: nullableNum,
    endedAt: nullableNum,
    endReason: nullableStr,
  },
  ['id', 'logicVersion', 'group', 'state', 'kind'],
);

const strings = { type: 'array', items: str } as const;

/** GET /api/kappa/replays/preflight (kappa-reprocessor/control/replay-sources.ts ReplayPreflight). */
export const kappaPreflightSchema = open(
  {
    ok: { type: 'boolean', description: 'the log holds the whole history (a log replay is possible)' },
    problems: strings,
    warnings: strings,
    partitions: { type: 'array', items: open({ partition: int, low: int, end: int }) },
    retentionMs: nullableNum,
    retentionBytes: nullableNum,
    historyMs: nullableNum,
    options: open(
      {
        log: open({ possible: bool, problems: strings }, ['possible', 'problems']),
        archive: open(
          {
            possible: bool,
            problems: strings,
            warnings: strings,
            partitions: {
              type: 'array',
              items: open({ partition: int, cutover: int, low: int, end: int }),
            },
            fromLog: {
              type: 'integer',
              description: 'events the replay reads from the log after the cut-over',
            },
          },
          ['possible', 'problems', 'partitions'],
        ),
        choice: {
          type: 'string',
          enum: ['log', 'archive', 'refuse'],
          description: "what source 'auto' does: the log if it can, else the archive, else refuse",
        },
      },
      ['log', 'archive', 'choice'],
    ),
  },
  ['ok', 'problems', 'partitions', 'options'],
);

/** GET /api/kappa/jobs. */
export const kappaJobsSchema = open(
  {
    active: nullableInt,
    previous: nullableInt,
    switchedAt: nullableNum,
    availableLogicVersions: { type: 'array', items: int },
    settings: anyObject,
    jobs: {
      type: 'array',
      items: {
        ...kappaJobSchema,
        properties: {
          ...(kappaJobSchema.properties as Record<string, unknown>),
          table: str,
          active: bool,
          lag: num,
          rate: num,
          etaMs: nullableNum,
          partitions: { type: 'array', items: anyObject },
          counters: anyObject,
          catchUp: { type: ['object', 'null'], additionalProperties: true },
          runner: { type: ['object', 'null'], additionalProperties: true },
        },
      },
    },
  },
  ['active', 'previous', 'availableLogicVersions', 'jobs'],
);

/** The active pointer after a switchover or a rollback. */
export const activePointerSchema = open(
  { job: { type: 'integer', minimum: 1 }, logicVersion: int, previous: nullableInt, switchedAt: nullableNum },
  ['job', 'logicVersion', 'previous'],
);

const verificationExample = {
  verdict: 'failed',
  reason: 'job 2 differs from the truth of logic v2 in 1 of 5 closed windows',
  job: 2,
  logicVersion: 2,
  against: 1,
  againstLogicVersion: 1,
  sameLogic: false,
  windowsRequested: 5,
  closedBefore: 1_700_000_050_000,
  failedWindows: [1_700_000_040_000],
  activeDeviates: [],
  buckets: ['0', '1', '2-9', '10-99', '100+'],
  checkedAt: 1_700_000_123_456,
  windows: [
    {
      window: 1_700_000_040_000,
      cells: 3,
      expectedViews: 310,
      candidateViews: 317,
      activeViews: 342,
      absDiffTruth: 7,
      absDiffActive: 25,
      unexplainedActive: 7,
      histogram: [2, 0, 1, 0, 0],
      histogramActive: [2, 0, 1, 0, 0],
      differing: [{ campaign: 'c-07', expected: 104, candidate: 111, active: 115, explained: -11 }],
    },
  ],
};

/** GET /api/kappa/verification, and `verification` in the switchover's answer. */
export const kappaVerificationSchema = {
  ...open(
    {
      verdict: {
        type: 'string',
        enum: ['passed', 'failed', 'unavailable'],
        description:
          'passed: job N+1 equals the truth of its logic version in every compared window; failed: it differs (a switchover is refused); unavailable: nothing to compare (no truth oracle in this process, a logic version the truth has no statement of, no closed window yet, or kappa.verifyWindows = 0) — reason says which',
      },
      reason: str,
      job: { type: 'integer', minimum: 1 },
      logicVersion: int,
      against: { ...nullableInt, description: 'job N (the active job) it was compared with' },
      againstLogicVersion: nullableInt,
      sameLogic: { type: ['boolean', 'null'] },
      windowsRequested: { ...int, description: 'kappa.verifyWindows' },
      closedBefore: {
        ...nullableNum,
        description: 'windows below this event time (ms) are closed for the truth and both jobs',
      },
      failedWindows: {
        type: 'array',
        items: num,
        description: 'windows where job N+1 differs from the truth',
      },
      activeDeviates: {
        type: 'array',
        items: num,
        description:
          'windows where job N differs from what the truth explains while job N+1 is right (not a refusal)',
      },
      buckets: { type: 'array', items: str, description: 'labels of the |diff| buckets of every histogram' },
      checkedAt: num,
      skipped: { ...bool, description: 'the switchover went ahead with skipVerification: true' },
      windows: {
        type: 'array',
        items: open(
          {
            window: num,
            cells: int,
            expectedViews: num,
            candidateViews: num,
            activeViews: nullableNum,
            absDiffTruth: num,
            absDiffActive: nullableNum,
            unexplainedActive: nullableNum,
            histogram: { type: 'array', items: int, description: 'cells per |job N+1 − truth| bucket' },
            histogramActive: {
              type: ['array', 'null'],
              items: int,
              description: 'cells per |(job N+1 − job N) − explained| bucket',
            },
            differing: {
              type: 'array',
              items: open({
                campaign: str,
                expected: num,
                candidate: num,
                active: nullableNum,
                explained: nullableNum,
              }),
            },
          },
          ['window', 'cells', 'histogram'],
        ),
      },
    },
    ['verdict', 'reason', 'job', 'logicVersion', 'windows', 'failedWindows', 'buckets'],
  ),
  example: verificationExample,
};

/** POST /api/kappa/switchover: the new pointer and the verdict the gate gave. */
export const switchoverResultSchema = {
  ...open(
    {
      job: { type: 'integer', minimum: 1 },
      logicVersion: int,
      previous: nullableInt,
      switchedAt: nullableNum,
      verification: kappaVerificationSchema,
      cutover: {
        type: ['object', 'null'],
        additionalProperties: true,
        description:
          'how readers leave the previous job: { mode: overlap | gate, from, at (T), until }; null = flip',
      },
      cutoverRecord: {
        ...anyObject,
        description:
          'the cutover decided: mode, T, per-partition edges, idle partitions (GET /api/kappa/cutover counts it)',
      },
    },
    ['job', 'logicVersion', 'previous', 'verification'],
  ),
  example: {
    job: 2,
    logicVersion: 2,
    previous: 1,
    switchedAt: 1_700_000_123_456,
    verification: {
      ...verificationExample,
      verdict: 'passed',
      reason:
        'job 2 equals the truth of logic v2 in all 5 closed windows compared; its differences against job 1 (logic v1) are exactly the ones v1 → v2 explains',
      failedWindows: [],
      windows: [],
    },
  },
};
