import { describe, expect, it } from 'vitest';
import { InterviewStatus } from '../../../server/db/InterviewStatus.ts';
import { SESSION_STATES, SessionState, canMove, stateOfStatus } from '../../../server/session/SessionState.ts';

/** The moves an interview session may make, written out by hand: the table must say exactly this. */
const EXPECTED = new Set([
  'idle→live',
  'idle→ending',
  'live→ending',
  'live→idle',
  'ending→finalizing',
  'finalizing→done',
  'done→finalizing',
]);

describe('the session state machine', () => {
  it('allows exactly the listed moves, for every pair of states', () => {
    const pairs = SESSION_STATES.flatMap((from) => SESSION_STATES.map((to) => [from, to] as const));
    expect(pairs).toHaveLength(25);
    for (const [from, to] of pairs) expect(canMove(from, to), `${from}→${to}`).toBe(EXPECTED.has(`${from}→${to}`));
  });

  it('resumes from every stored status in the state that status means', () => {
    expect(stateOfStatus(InterviewStatus.Created)).toBe(SessionState.Idle);
    expect(stateOfStatus(InterviewStatus.Live)).toBe(SessionState.Live);
    expect(stateOfStatus(InterviewStatus.Finalizing)).toBe(SessionState.Finalizing);
    expect(stateOfStatus(InterviewStatus.Completed)).toBe(SessionState.Done);
    expect(stateOfStatus(InterviewStatus.Failed)).toBe(SessionState.Done);
  });
});
