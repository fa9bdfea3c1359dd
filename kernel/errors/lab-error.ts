/**
 * Every error the lab raises on purpose carries a stable code (listed with how to solve it in
 * docs/errors.md; a test keeps the two in sync), a message that says what to do, whether a retry
 * may help, and the underlying cause.
 */
import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export interface LabErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  /** Extra machine-readable detail (file, field, offset, ...). */
  details?: Record<string, unknown>;
}

export class LabError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: LabErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LabError';
    this.code = code;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
    this.details = options.details;
  }

  /** HTTP status for the API: 4xx for caller mistakes, 503 for a dependency that is down. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retriable: this.retriable, details: this.details };
  }
}

export function isLabError(err: unknown): err is LabError {
  return err instanceof LabError;
}
