/**
 * The cutover semantics lab's answers (GET /api/kappa/cutover) for the OpenAPI document and the
 * serializer; objects stay open (additionalProperties: true), as in response-schemas.ts.
 */
const open = (properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: true,
  ...(required.length > 0 ? { required } : {}),
  properties,
});

const int = { type: 'integer' } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
const nullableNum = { type: ['number', 'null'] } as const;
const mode = { type: 'string', enum: ['flip', 'overlap', 'gate'] } as const;

const cutoverWindowSchema = open(
  {
    window: { type: 'number', description: 'window start (ms)' },
    jobs: { type: 'array', items: int, description: 'jobs the window was served from (two = summed)' },
    expected: { type: 'integer', description: 'the truth for the serving logic version (views)' },
    served: int,
    lost: { type: 'integer', description: 'Σ over campaigns of max(0, expected − served)' },
    duplicated: { type: 'integer', description: 'Σ over campaigns of max(0, served − expected)' },
  },
  ['window', 'jobs', 'expected', 'served', 'lost', 'duplicated'],
);

const cutoverReportSchema = {
  ...open(
    {
      mode,
      from: nullableInt,
      fromLogicVersion: nullableInt,
      to: int,
      toLogicVersion: int,
      switchedAt: { type: 'number' },
      at: { ...nullableNum, description: 'gate: cut-over event time T (windows before it from job N)' },
      until: { ...nullableNum, description: 'when readers stopped reading job N (ms)' },
      headWindow: nullableNum,
      partitions: {
        type: 'array',
        items: open({
          partition: int,
          maxEventTime: nullableNum,
          finalizedBefore: nullableNum,
          readToEnd: { type: 'boolean' },
          idle: { type: 'boolean' },
        }),
      },
      idlePartitions: { type: 'array', items: int },
      reason: { type: 'string' },
      measured: { type: 'boolean' },
      measuredReason: { type: 'string' },
      closedBefore: nullableNum,
      windows: { type: 'array', items: cutoverWindowSchema },
      lost: int,
      duplicated: int,
    },
    ['mode', 'to', 'switchedAt', 'at', 'measured', 'windows', 'lost', 'duplicated'],
  ),
  nullable: true,
};

export const kappaCutoverSchema = {
  ...open(
    {
      defaultMode: { ...mode, description: 'kappa.cutoverMode: the mode a switchover uses unless told' },
      last: cutoverReportSchema,
    },
    ['defaultMode', 'last'],
  ),
  example: {
    defaultMode: 'flip',
    last: {
      mode: 'gate',
      from: 1,
      fromLogicVersion: 1,
      to: 2,
      toLogicVersion: 1,
      switchedAt: 1_700_000_123_456,
      at: 1_700_000_040_000,
      until: 1_700_000_723_456,
      headWindow: 1_700_000_090_000,
      partitions: [],
      idlePartitions: [],
      reason: 'gate: windows before T come from job 1, the rest from job 2',
      measured: true,
      measuredReason: '6 closed windows around the cut-over: 0 events lost, 0 duplicated',
      closedBefore: 1_700_000_080_000,
      windows: [{ window: 1_700_000_030_000, jobs: [1], expected: 812, served: 812, lost: 0, duplicated: 0 }],
      lost: 0,
      duplicated: 0,
    },
  },
};
