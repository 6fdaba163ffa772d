import { ConnectionException, DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';

/**
 * The database did not answer in time — SQLite's write lock held past the busy timeout, the
 * connection pool's wait run out on a saturated machine, PostgreSQL unreachable — rather than
 * refusing the request: the caller may retry, so it is a 503, not a 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return (
    error instanceof LockWaitTimeoutException ||
    error instanceof DeadlockException ||
    error instanceof ConnectionException ||
    (error instanceof Error && error.name === 'KnexTimeoutError')
  );
}
