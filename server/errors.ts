/** Typed errors of the service, mapped to HTTP statuses and signalling acks in one place. */
import type { ErrorCode } from '../shared/vocabulary.ts';

export type { ErrorCode } from '../shared/vocabulary.ts';

const httpStatusByCode: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  database_unavailable: 503,
  at_capacity: 503,
  limit_reached: 429,
  insufficient_storage: 507,
  internal: 500,
};

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The request field at fault, for invalid_input. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get httpStatus(): number {
    return httpStatusByCode[this.code];
  }

  toJSON(): { error: ErrorCode; message: string; field?: string } {
    return { error: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}

/** Turns a zod failure into an invalid_input error naming the first offending field. */
export function invalidInput(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): AppError {
  const first = issues[0];
  const field = first && first.path.length > 0 ? first.path.map(String).join('.') : 'body';
  return new AppError('invalid_input', `${field}: ${first?.message ?? 'invalid'}`, field);
}
