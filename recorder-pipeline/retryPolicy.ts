import pRetry, { AbortError } from 'p-retry';

export interface RetryOptions {
  /** Transient failures are retried with backoff for this long, then the last error is thrown. */
  windowMs: number;
  signal?: AbortSignal | undefined;
  /** Called after every failed attempt, the last one included. */
  onRetry?: ((error: Error, attempt: number) => void) | undefined;
}

/**
 * The one retry policy of the object store calls: exponential backoff from 250 ms, doubling, at
 * most 10 s apart, for as long as the window lasts (the attempt count is only a backstop).
 */
export function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  return pRetry(attempt, {
    retries: 1000,
    maxRetryTime: options.windowMs,
    minTimeout: 250,
    maxTimeout: 10_000,
    factor: 2,
    ...(options.signal ? { signal: options.signal } : {}),
    onFailedAttempt: ({ error, attemptNumber }) => options.onRetry?.(error, attemptNumber),
  });
}

/**
 * What an attempt throws for `error`: a client error that no retry can fix (credentials, missing
 * bucket, bad request) ends the retries at once, with that error. 408 and 429 are transient.
 */
export function abortIfPermanent(error: unknown): unknown {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const permanent = status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
  return permanent ? new AbortError(error as Error) : error;
}
