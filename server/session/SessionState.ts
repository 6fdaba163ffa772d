import { InterviewStatus } from '../db/InterviewStatus.ts';

/**
 * Where one interview's session is. Every move is listed in `SESSION_MOVES`; the session makes
 * no other.
 *
 * - `idle`: created, waiting for the candidate's media (a room may be open).
 * - `live`: media reached the recording; the clock runs until `endsAt`. Back to `idle` when another
 *   node took the interview's lease (cluster mode).
 * - `ending`: the end was stored; the recording is stopping and its gaps are closed.
 * - `finalizing`: the files are being finalized and delivered to the object store.
 * - `done`: completed, or failed with a reason (a failed one may be finalized again).
 */
export enum SessionState {
  Idle = 'idle',
  Live = 'live',
  Ending = 'ending',
  Finalizing = 'finalizing',
  Done = 'done',
}

export const SESSION_STATES: readonly SessionState[] = Object.values(SessionState);

/** The allowed moves: from → the states it may go to. */
const SESSION_MOVES: Readonly<Record<SessionState, readonly SessionState[]>> = {
  // Ended before any media arrived (a proctor, an admin, or an expired link).
  [SessionState.Idle]: [SessionState.Live, SessionState.Ending],
  // Cluster mode: its lease went to another node, which runs it now; here it waits as on any non-owner.
  [SessionState.Live]: [SessionState.Ending, SessionState.Idle],
  [SessionState.Ending]: [SessionState.Finalizing],
  [SessionState.Finalizing]: [SessionState.Done],
  // A failed interview delivered again: retry-upload, a service start, or its automatic retry.
  [SessionState.Done]: [SessionState.Finalizing],
};

export function canMove(from: SessionState, to: SessionState): boolean {
  return SESSION_MOVES[from].includes(to);
}

export class InvalidSessionMoveError extends Error {
  constructor(
    readonly from: SessionState,
    readonly to: SessionState,
  ) {
    super(`an interview session cannot go from ${from} to ${to}`);
    this.name = 'InvalidSessionMoveError';
  }
}

/** The state a session resumes in from the stored status (a service start, a new session). */
export function stateOfStatus(status: InterviewStatus): SessionState {
  switch (status) {
    case InterviewStatus.Created:
      return SessionState.Idle;
    case InterviewStatus.Live:
      return SessionState.Live;
    case InterviewStatus.Finalizing:
      // Stored as ending or finalizing: either way the recording is over and delivery (re)starts.
      return SessionState.Finalizing;
    case InterviewStatus.Completed:
    case InterviewStatus.Failed:
      return SessionState.Done;
  }
}
