/**
 * When a `failed` interview is delivered again by itself (FAILED_UPLOAD_RETRY_SECONDS,
 * FAILED_UPLOAD_RETRY_DAYS): after its n-th failed delivery in a row it is due again after the n-th
 * wait of `delaysMs` (the last one repeats), as long as that moment lies within `forMs` of the
 * interview's end. Past that bound no retry is due: the recordings stay on the server for an
 * operator (retry-upload) or the next start.
 */
export interface FailedRetrySchedule {
  /** The wait after the 1st, 2nd, … failed delivery; the last repeats. Empty: never by itself. */
  readonly delaysMs: readonly number[];
  /** How long after the interview's end a retry may still be due; 0: never by itself. */
  readonly forMs: number;
}

/** No automatic retries (an InterviewService without a schedule, e.g. in tests of the database). */
export const NO_AUTOMATIC_RETRIES: FailedRetrySchedule = { delaysMs: [], forMs: 0 };

/** The wait before the retry that follows the `failures`-th failed delivery in a row (1-based). */
export function retryDelayMs(schedule: FailedRetrySchedule, failures: number): number | undefined {
  if (failures < 1 || schedule.delaysMs.length === 0) return undefined;
  return schedule.delaysMs[Math.min(failures, schedule.delaysMs.length) - 1];
}

/**
 * When the interview is due to be delivered again, after its `failures`-th failed delivery in a row
 * ended at `now`; null when no retry falls within the bound (`forMs` after `endedAt`).
 */
export function nextRetryAt(schedule: FailedRetrySchedule, failures: number, endedAt: Date, now: Date): Date | null {
  const delay = retryDelayMs(schedule, failures);
  if (delay === undefined) return null;
  const at = now.getTime() + delay;
  return at <= endedAt.getTime() + schedule.forMs ? new Date(at) : null;
}

/** How often a node looks for due retries: every 15 s, or more often when the shortest wait is shorter. */
export function retrySweepIntervalMs(schedule: FailedRetrySchedule): number {
  return Math.min(15_000, ...schedule.delaysMs);
}
