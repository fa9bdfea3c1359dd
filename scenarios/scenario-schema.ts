/**
 * The JSON schema of a scenario file (checked with ajv). Unknown keys are rejected everywhere,
 * so a typo never silently drops an action or an expectation. docs/scenarios.md is its prose.
 */

const seconds = { type: 'number', minimum: 0 } as const;
const version = { type: 'integer', minimum: 1, maximum: 99 } as const;
const share = { type: 'number', minimum: 0, maximum: 1 } as const;
const comparison = { enum: ['==', '!=', '<', '<=', '>', '>='] } as const;

export const ACTIONS = [
  'crash',
  'restart',
  'stop',
  'start',
  'deploy',
  'intend-logic',
  'batch-run',
  'fail-map-tasks',
  'replay',
  'switchover',
  'rollback',
  'set-rate',
  'enforce-retention',
] as const;

/** Properties each action takes (besides at, label, expectError), and which of them are required. */
const ACTION_PROPS: Record<(typeof ACTIONS)[number], { props: Record<string, object>; required: string[] }> =
  {
    crash: {
      props: {
        component: { enum: ['speed', 'kappa', 'generator'] },
        point: { enum: ['after-flush-before-commit', 'before-flush'] },
      },
      required: ['component'],
    },
    restart: {
      props: { component: { enum: ['speed', 'kappa', 'generator'] } },
      required: ['component'],
    },
    stop: { props: { component: { enum: ['kafka', 'redis'] } }, required: ['component'] },
    start: { props: { component: { enum: ['kafka', 'redis'] } }, required: ['component'] },
    deploy: { props: { layer: { enum: ['batch', 'speed'] }, version }, required: ['layer', 'version'] },
    'intend-logic': { props: { version }, required: ['version'] },
    'batch-run': { props: { wait: { type: 'boolean' } }, required: [] },
    'fail-map-tasks': {
      props: { untilAttempt: { type: 'integer', minimum: 1 } },
      required: ['untilAttempt'],
    },
    replay: {
      props: {
        version,
        force: { type: 'boolean' },
        rateLimit: { type: 'integer', minimum: 0 },
        wait: { type: 'boolean' },
        source: { enum: ['log', 'archive', 'auto'] },
      },
      required: ['version'],
    },
    switchover: {
      props: { mode: { enum: ['flip', 'overlap', 'gate'] } },
      required: [],
    },
    rollback: { props: {}, required: [] },
    'set-rate': { props: { rate: { type: 'integer', minimum: 0, maximum: 10_000_000 } }, required: ['rate'] },
    'enforce-retention': { props: {}, required: [] },
  };

const common = {
  at: seconds,
  action: { enum: ACTIONS },
  label: { type: 'string', minLength: 1 },
  expectError: { type: 'string', pattern: '^LKL_ERR_[A-Z_]+$' },
};

const timelineItem = {
  type: 'object',
  required: ['at', 'action'],
  properties: common,
  allOf: ACTIONS.map((a) => ({
    if: { properties: { action: { const: a } }, required: ['action'] },
    then: {
      properties: { ...common, ...ACTION_PROPS[a].props },
      required: ACTION_PROPS[a].required,
      additionalProperties: false,
    },
  })),
};

const expectationTime = {
  oneOf: [
    { const: 'end' },
    seconds,
    {
      type: 'object',
      required: ['from', 'to'],
      additionalProperties: false,
      properties: {
        from: { oneOf: [{ const: 'start' }, seconds] },
        to: { oneOf: [{ const: 'end' }, seconds] },
        hold: { enum: ['always', 'sometime', 'never'] },
      },
    },
  ],
};

export const SCENARIO_SCHEMA = {
  $id: 'https://lklab.invalid/schemas/scenario.json',
  type: 'object',
  required: ['id', 'title', 'goal', 'duration', 'workload', 'timeline', 'expectations', 'narrative'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9]+(-[a-z0-9]+)*$', maxLength: 64 },
    title: { type: 'string', minLength: 1 },
    goal: { type: 'string', minLength: 1 },
    duration: { type: 'number', exclusiveMinimum: 0, maximum: 86_400 },
    seed: { type: 'integer', minimum: 0 },
    workload: {
      type: 'object',
      required: ['rate'],
      additionalProperties: false,
      properties: {
        rate: { type: 'integer', minimum: 0, maximum: 10_000_000 },
        mode: { enum: ['live', 'skew'] },
        knobs: {
          type: 'object',
          additionalProperties: false,
          properties: {
            lateFraction: share,
            maxLatenessMs: { type: 'integer', minimum: 0 },
            outOfOrderEvery: { type: 'integer', minimum: 0 },
            outOfOrderBurst: { type: 'integer', minimum: 0 },
            duplicateFraction: share,
            malformedFraction: share,
            hotCampaignShare: share,
            botShare: share,
          },
        },
      },
    },
    config: { type: 'object' },
    measure: {
      type: 'object',
      additionalProperties: false,
      properties: {
        sampleEvery: { type: 'number', exclusiveMinimum: 0 },
        closeMarginMs: { type: 'integer', minimum: 0 },
      },
    },
    timeline: { type: 'array', items: timelineItem },
    expectations: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'metric', 'at', 'op'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1 },
          metric: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z0-9_-]+)*$' },
          at: expectationTime,
          op: comparison,
          value: { type: ['number', 'string', 'boolean', 'null'] },
          than: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z0-9_-]+)*$' },
          factor: { type: 'number' },
          lesson: { type: 'string' },
        },
      },
    },
    narrative: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'text'],
        additionalProperties: false,
        properties: { at: seconds, text: { type: 'string', minLength: 1 } },
      },
    },
  },
} as const;
