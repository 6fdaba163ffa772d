import { InterviewStatus } from '../../shared/vocabulary.ts';

export { InterviewStatus } from '../../shared/vocabulary.ts';

/** The allowed moves of an interview's persisted status, in one place. */
const allowedTransitions: Record<InterviewStatus, readonly InterviewStatus[]> = {
  [InterviewStatus.Created]: [InterviewStatus.Live, InterviewStatus.Finalizing],
  [InterviewStatus.Live]: [InterviewStatus.Finalizing],
  [InterviewStatus.Finalizing]: [InterviewStatus.Completed, InterviewStatus.Failed],
  // A failed upload may be retried, which finalizes again.
  [InterviewStatus.Failed]: [InterviewStatus.Finalizing],
  [InterviewStatus.Completed]: [],
};

/** The statuses from which an interview may move to `to` (compare-and-set updates name them in their WHERE). */
export function statusesMovingTo(to: InterviewStatus): InterviewStatus[] {
  return (Object.keys(allowedTransitions) as InterviewStatus[]).filter((from) => allowedTransitions[from].includes(to));
}

export function canTransition(from: InterviewStatus, to: InterviewStatus): boolean {
  return allowedTransitions[from].includes(to);
}

class InvalidTransitionError extends Error {
  constructor(readonly from: InterviewStatus, readonly to: InterviewStatus) {
    super(`an interview cannot go from ${from} to ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

export function assertTransition(from: InterviewStatus, to: InterviewStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
}

/** Ended interviews accept no more media. */
export function hasEnded(status: InterviewStatus): boolean {
  return status !== InterviewStatus.Created && status !== InterviewStatus.Live;
}
