/**
 * The shape of every error answer ({ error: { code, message, retriable, details? } }, see
 * plugins/errors.ts), for the OpenAPI document of routes that list their error responses.
 */
export function errorResponse(description: string): Record<string, unknown> {
  return {
    description,
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: {
          code: { type: 'string', description: 'LKL_ERR_<AREA>_<WHAT>, listed in docs/errors.md' },
          message: { type: 'string', description: 'what happened and what to do' },
          retriable: { type: 'boolean' },
          details: { type: 'object', additionalProperties: true },
        },
      },
    },
  };
}

/** 503 of a route that reads or writes the event log or the realtime store (Kafka/Redis down). */
export function unavailableResponse(): Record<string, unknown> {
  return errorResponse(
    'LKL_ERR_LOG_UNAVAILABLE or LKL_ERR_STORE_UNAVAILABLE: Kafka or Redis cannot be reached (distributed mode); retriable',
  );
}
