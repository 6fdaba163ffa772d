import { describe, expect, it } from 'vitest';
import { abortIfPermanent, withRetries } from '../../recorder-pipeline/retryPolicy.ts';

/** An error shaped as the AWS SDK's, with the HTTP status the store answered. */
function storeError(status: number): Error {
  return Object.assign(new Error(`store answered ${status}`), { $metadata: { httpStatusCode: status } });
}

/** An attempt that fails with `statuses` in turn, then succeeds; counts its calls. */
function failing(statuses: number[]): { attempt: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    attempt: async () => {
      const status = statuses[calls++];
      if (status === undefined) return 'done';
      try {
        throw storeError(status);
      } catch (error) {
        throw abortIfPermanent(error);
      }
    },
    calls: () => calls,
  };
}

describe('the retry policy', () => {
  it('retries transient failures (5xx, 408, 429) until the call succeeds, reporting each failed attempt', async () => {
    const { attempt, calls } = failing([503, 429, 408]);
    const retries: number[] = [];
    const startedAt = Date.now();
    await expect(withRetries(attempt, { windowMs: 60_000, onRetry: (_error, number) => retries.push(number) })).resolves.toBe('done');
    expect(calls()).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
    // Backing off 250, 500 and 1000 ms.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1750 - 50);
  });

  it('gives up at once on a client error no retry can fix, with that error', async () => {
    const { attempt, calls } = failing([403]);
    await expect(withRetries(attempt, { windowMs: 60_000 })).rejects.toThrow('store answered 403');
    expect(calls()).toBe(1);
  });

  it('throws the last transient error once the window has passed', async () => {
    const { attempt, calls } = failing(Array.from({ length: 20 }, () => 503));
    const startedAt = Date.now();
    await expect(withRetries(attempt, { windowMs: 300 })).rejects.toThrow('store answered 503');
    // The last wait is cut to what is left of the window, so the end comes with it.
    expect(Date.now() - startedAt).toBeLessThan(300 + 200);
    expect(calls()).toBeLessThan(20);
  });
});
