import { describe, expect, it } from 'vitest';
import { SessionRegistry } from '../../../server/session/SessionRegistry.ts';
import { SessionState } from '../../../server/session/SessionState.ts';
import type { InterviewRoom } from '../../../server/sfu/InterviewRoom.ts';
import { useSessionTestbed } from '../../support/sessionContext.ts';
import { waitFor } from '../../support/testConfig.ts';

describe('interview sessions (real database and mediasoup workers)', () => {
  const testbed = useSessionTestbed();

  it('open one room per interview even when asked concurrently, and reopen it after it closes', async () => {
    const context = testbed.context();
    const sessions = new SessionRegistry(context);
    const { interview } = await context.interviews.create({ durationSeconds: 60 });
    const opened: InterviewRoom[] = [];
    sessions.on('room', (room) => opened.push(room));
    const session = sessions.open(interview.id);
    expect(sessions.open(interview.id)).toBe(session);
    const [a, b] = await Promise.all([session.openRoom(), sessions.open(interview.id).openRoom()]);
    expect(a).toBe(b);
    expect(sessions.get(interview.id)?.room).toBe(a);
    a.close('ended');
    expect(session.room).toBeUndefined();
    const c = await session.openRoom();
    expect(c).not.toBe(a);
    expect(opened).toEqual([a, c]);
    sessions.close();
    expect(c.closed).toBe(true);
    await expect(session.openRoom()).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('end an interview once when asked twice at the same moment, and stop its room', async () => {
    const context = testbed.context();
    const sessions = new SessionRegistry(context);
    const { interview } = await context.interviews.create({ durationSeconds: 60 });
    const ended: string[] = [];
    sessions.on('ended', (_interview, cause) => ended.push(cause));
    const session = sessions.open(interview.id);
    const room = await session.openRoom();
    const [first, second] = await Promise.all([session.end('proctor', { notes: 'one' }), session.end('admin', { notes: 'two' })]);
    expect(ended).toEqual(['proctor']);
    expect(first.completedAt).not.toBeNull();
    expect(second.completedAt?.getTime()).toBe(first.completedAt?.getTime());
    expect(second.notes).toBe('two');
    expect(room.closed).toBe(true);
    // Nothing was recorded: the delivery completes the interview without URLs.
    await waitFor(() => session.state === SessionState.Done, { timeoutMs: 10_000, what: 'the session to be done' });
    expect((await context.interviews.get(interview.id)).status).toBe('completed');
    sessions.close();
  });

  it('let a session go once nothing of it is in use, and keep proctor seats per interview', async () => {
    const context = testbed.context();
    const sessions = new SessionRegistry(context);
    const { interview } = await context.interviews.create({ durationSeconds: 60 });
    const session = sessions.open(interview.id);
    const seats = [session.holdProctorSeat(2), session.holdProctorSeat(2)];
    expect(session.holdProctorSeat(2)).toBeUndefined();
    seats[0]!();
    seats[0]!();
    const third = session.holdProctorSeat(2);
    expect(third).toBeDefined();
    seats[1]!();
    third!();
    await waitFor(() => sessions.get(interview.id) === undefined, { timeoutMs: 5000, what: 'the unused session to be let go' });
    sessions.close();
  });
});
