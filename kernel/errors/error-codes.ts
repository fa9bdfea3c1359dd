/**
 * The catalogue of error codes. docs/errors.md lists every code here with "how to solve";
 * kernel/errors/error-codes.test.ts fails when the two drift apart.
 */
export const ERROR_CODES = {
  LKL_ERR_CONFIG_INVALID: { http: 500, retriable: false, summary: 'A configuration setting is invalid.' },
  LKL_ERR_CONFIG_UNKNOWN_KEY: {
    http: 500,
    retriable: false,
    summary: 'The configuration names a setting that does not exist.',
  },
  LKL_ERR_CONFIG_FILE_UNREADABLE: {
    http: 500,
    retriable: false,
    summary: 'The configuration file cannot be read or parsed.',
  },
  LKL_ERR_EVENT_MALFORMED: { http: 400, retriable: false, summary: 'An event is not a valid YSB event.' },
  LKL_ERR_INGEST_BODY_INVALID: {
    http: 400,
    retriable: false,
    summary: 'The body of an ingest request is neither NDJSON nor a JSON array.',
  },
  LKL_ERR_INGEST_BACKPRESSURE: {
    http: 429,
    retriable: true,
    summary:
      "The lab's consumers are further behind the log than backpressure.maxLagEvents; nothing was appended.",
  },
  LKL_ERR_LOG_TOPIC_UNKNOWN: {
    http: 404,
    retriable: false,
    summary: 'The topic does not exist in the event log.',
  },
  LKL_ERR_LOG_PARTITION_UNKNOWN: {
    http: 404,
    retriable: false,
    summary: 'The partition does not exist in the topic.',
  },
  LKL_ERR_LOG_OFFSET_OUT_OF_RANGE: {
    http: 416,
    retriable: false,
    summary: 'The offset is below the low-water offset or above the end offset.',
  },
  LKL_ERR_LOG_CORRUPT: { http: 500, retriable: false, summary: 'A log segment is corrupt before its tail.' },
  LKL_ERR_LOG_CLOSED: { http: 503, retriable: true, summary: 'The event log is closed.' },
  LKL_ERR_LOG_LOCKED: {
    http: 503,
    retriable: false,
    summary: 'Another process holds the embedded log of this data directory.',
  },
  LKL_ERR_LOG_UNAVAILABLE: {
    http: 503,
    retriable: true,
    summary: 'The event log backend (Kafka) cannot be reached.',
  },
  LKL_ERR_STORE_UNAVAILABLE: {
    http: 503,
    retriable: true,
    summary: 'The realtime store (Redis) cannot be reached.',
  },
  LKL_ERR_QUEUE_UNAVAILABLE: {
    http: 503,
    retriable: true,
    summary: 'The job queue backend (Redis) cannot be reached.',
  },
  LKL_ERR_STACK_TOOL_MISSING: {
    http: 500,
    retriable: false,
    summary: 'A program the local stack needs is not installed.',
  },
  LKL_ERR_STACK_PORT_BUSY: {
    http: 500,
    retriable: false,
    summary: 'A port the local stack needs is taken by another process.',
  },
  LKL_ERR_STACK_FETCH_FAILED: {
    http: 500,
    retriable: true,
    summary: 'Maven could not fetch the Kafka jars.',
  },
  LKL_ERR_STACK_LOCKED: { http: 500, retriable: true, summary: 'Another stack.sh command is running.' },
  LKL_ERR_STACK_START_FAILED: {
    http: 500,
    retriable: true,
    summary: 'Redis or Kafka exited while starting.',
  },
  LKL_ERR_STACK_START_TIMEOUT: {
    http: 500,
    retriable: true,
    summary: 'Redis or Kafka did not become ready in time.',
  },
  LKL_ERR_STACK_DOWN: { http: 503, retriable: true, summary: 'The local stack is not running.' },
  LKL_ERR_STACK_UNSAFE_RESET: {
    http: 500,
    retriable: false,
    summary: 'reset refused to delete a state directory outside the expected place.',
  },
  LKL_ERR_STACK_USAGE: {
    http: 400,
    retriable: false,
    summary: 'stack.sh was called with invalid arguments.',
  },
  LKL_ERR_MEASUREMENT_TRUTH_UNAVAILABLE: {
    http: 503,
    retriable: true,
    summary: 'The truth oracle cannot open its DuckDB database.',
  },
  LKL_ERR_MEASUREMENT_LOGIC_UNKNOWN: {
    http: 500,
    retriable: false,
    summary: 'A logic version is deployed that the truth oracle has no statement of.',
  },
  LKL_ERR_API_BAD_REQUEST: { http: 400, retriable: false, summary: 'An API request is invalid.' },
  LKL_ERR_API_INTERNAL: {
    http: 500,
    retriable: true,
    summary: 'An unexpected error; the server log has the stack.',
  },
  LKL_ERR_API_NOT_FOUND: { http: 404, retriable: false, summary: 'The API resource does not exist.' },
  LKL_ERR_API_METHOD_NOT_ALLOWED: {
    http: 405,
    retriable: false,
    summary: 'The path exists but not with this method; the Allow header lists the methods it takes.',
  },
  LKL_ERR_API_UNAUTHORIZED: {
    http: 401,
    retriable: false,
    summary: 'A control route was called without the bearer token (server.token) or with a wrong one.',
  },
  LKL_ERR_API_FORBIDDEN: {
    http: 403,
    retriable: false,
    summary:
      'A cross-site request to a control route, or a request naming a non-loopback host to a lab bound to loopback.',
  },
  LKL_ERR_API_RATE_LIMITED: {
    http: 429,
    retriable: true,
    summary: 'The client sent more requests per minute than server.rateLimit allows.',
  },
  LKL_ERR_API_TOO_MANY_STREAMS: {
    http: 429,
    retriable: true,
    summary: 'As many Server-Sent Event streams (GET /api/stream) are open as server.maxStreams allows.',
  },
  LKL_ERR_CONFIG_UNSAFE_BIND: {
    http: 500,
    retriable: false,
    summary: 'The server would bind a non-loopback address without a token (server.token).',
  },
  LKL_ERR_CLI_USAGE: {
    http: 400,
    retriable: false,
    summary: 'A CLI command was called with invalid arguments.',
  },
  LKL_ERR_CLI_UNREACHABLE: { http: 503, retriable: true, summary: 'The CLI cannot reach the running lab.' },
  LKL_ERR_IMPORT_FILE_UNREADABLE: {
    http: 400,
    retriable: false,
    summary: 'The file to import cannot be read.',
  },
  LKL_ERR_LOG_INVALID_ARGUMENT: {
    http: 400,
    retriable: false,
    summary:
      'An event-log call has an invalid argument (topic name, topic spec, record, offset, consumer option).',
  },
  LKL_ERR_LOG_GROUP_ACTIVE: {
    http: 409,
    retriable: false,
    summary: 'The consumer group has a running consumer on the same partitions.',
  },
  LKL_ERR_STORE_UPDATE_INVALID: {
    http: 400,
    retriable: false,
    summary:
      'A realtime-store update has an invalid item (key, field, increment, value, member or offset); nothing was applied.',
  },
  LKL_ERR_STORE_CONFLICT: {
    http: 409,
    retriable: false,
    summary:
      'A realtime-store update or read uses a key the other way (fields vs sketch) or increments a field that holds text; nothing was applied.',
  },
  LKL_ERR_STORE_CHECKPOINT_CORRUPT: {
    http: 500,
    retriable: false,
    summary: 'The embedded realtime store checkpoint file cannot be parsed.',
  },
  LKL_ERR_QUEUE_OPTIONS_INVALID: {
    http: 400,
    retriable: false,
    summary: 'A job-queue call has an invalid queue name, job id or option.',
  },
  LKL_ERR_QUEUE_JOB_UNKNOWN: {
    http: 404,
    retriable: false,
    summary: 'The job does not exist in that queue (never added, or removed).',
  },
  LKL_ERR_QUEUE_WAIT_TIMEOUT: {
    http: 504,
    retriable: true,
    summary: 'A job did not finish within the time the caller was willing to wait.',
  },
  LKL_ERR_KAPPA_LOGIC_UNKNOWN: {
    http: 400,
    retriable: false,
    summary: 'The Kappa logic version does not exist (no module in kappa-reprocessor/logic/).',
  },
  LKL_ERR_KAPPA_HISTORY_INCOMPLETE: {
    http: 409,
    retriable: false,
    summary:
      'A replay was refused: the log no longer holds the whole history (low offset above 0, or retention shorter than the history needed).',
  },
  LKL_ERR_KAPPA_REPLAY_RUNNING: {
    http: 409,
    retriable: false,
    summary: 'A Kappa replay is already running or waiting for switchover.',
  },
  LKL_ERR_KAPPA_JOB_UNKNOWN: {
    http: 404,
    retriable: false,
    summary: 'The Kappa job does not exist (or was already retired or aborted).',
  },
  LKL_ERR_KAPPA_NOT_CAUGHT_UP: {
    http: 409,
    retriable: true,
    summary: 'The replay has not caught up with the log yet, so readers cannot be switched to it.',
  },
  LKL_ERR_KAPPA_VERIFICATION_FAILED: {
    http: 409,
    retriable: true,
    summary:
      "The replay's table differs from the truth in recent closed windows (kappa.verifyWindows), so readers are not switched to it.",
  },
  LKL_ERR_KAPPA_NO_CANDIDATE: {
    http: 409,
    retriable: false,
    summary: 'There is no replay to switch readers to.',
  },
  LKL_ERR_KAPPA_NO_ROLLBACK: {
    http: 409,
    retriable: false,
    summary: 'There is no previous Kappa job left to roll back to.',
  },
  LKL_ERR_KAPPA_JOB_ACTIVE: {
    http: 409,
    retriable: false,
    summary: 'The Kappa job is the one readers use; it cannot be aborted.',
  },
  LKL_ERR_KAPPA_STATE_CORRUPT: {
    http: 500,
    retriable: false,
    summary: 'The Kappa job registry in the realtime store cannot be parsed.',
  },
  LKL_ERR_KAPPA_WORKER_UNSUPPORTED: {
    http: 400,
    retriable: false,
    summary: 'lklab kappa-worker needs Kafka and Redis (the embedded log and store belong to one process).',
  },
  LKL_ERR_SCENARIO_INVALID: {
    http: 400,
    retriable: false,
    summary: 'A scenario file does not match the scenario schema, or asks for something this mode cannot do.',
  },
  LKL_ERR_SCENARIO_UNKNOWN: {
    http: 404,
    retriable: false,
    summary: 'There is no scenario with this id in scenarios/.',
  },
  LKL_ERR_SCENARIO_RUN_UNKNOWN: {
    http: 404,
    retriable: false,
    summary:
      'There is no scenario run with this id (runs are kept in memory by the process that started them).',
  },
  LKL_ERR_SCENARIO_RUN_NOT_PAUSABLE: {
    http: 409,
    retriable: false,
    summary: 'Only a live scenario run that is still running can be paused or resumed.',
  },
  LKL_ERR_SCENARIO_QUEUE_FULL: {
    http: 429,
    retriable: true,
    summary: 'Every scenario-run slot is busy and the queue holds scenarios.maxQueuedRuns runs already.',
  },
  LKL_ERR_SCENARIO_RUN_FINISHED: {
    http: 409,
    retriable: false,
    summary:
      'The scenario run has already finished (completed, failed or cancelled): there is nothing to cancel.',
  },
} as const satisfies Record<string, { http: number; retriable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
