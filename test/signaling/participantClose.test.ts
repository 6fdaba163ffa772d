import { describe, expect, it, vi } from 'vitest';
import type { InterviewRoom } from '../../server/sfu/InterviewRoom.ts';
import { SessionRegistry } from '../../server/session/SessionRegistry.ts';
import { Participant } from '../../server/signaling/Participant.ts';
import { useSessionTestbed } from '../support/sessionContext.ts';
import { waitFor } from '../support/testConfig.ts';

describe('a connection that closes while its join is still looking the interview up', () => {
  const testbed = useSessionTestbed();

  it('leaves no member behind, so the room still closes when idle', async () => {
    const context = testbed.context({ idleCloseMs: 200 });
    const { interviews } = context;
    const { interview } = await interviews.create({ durationSeconds: 600 });
    const sessions = new SessionRegistry(context);
    const opened: InterviewRoom[] = [];
    sessions.on('room', (room) => opened.push(room));
    // The real database answers only after the page has gone (a reload during connect).
    let found!: () => void;
    const lookup = new Promise<void>((resolve) => (found = resolve));
    const find = interviews.find.bind(interviews);
    const lookedUp = vi.spyOn(interviews, 'find').mockImplementation(async (id) => {
      await lookup;
      return find(id);
    });
    const participant = new Participant(
      'socket-1',
      { interviewId: interview.id, role: 'proctor', exp: Math.floor(Date.now() / 1000) + 60 },
      { session: sessions.open(interview.id), interviews, bitrates: { screen: 2_500_000, camera: 1_500_000 }, candidateDashboardUrl: 'http://localhost/', logger: context.logger },
      () => undefined,
      () => undefined,
    );
    const joining = participant.handle('join', { interviewId: interview.id });
    participant.close();
    found();
    await expect(joining).rejects.toMatchObject({ code: 'conflict' });
    expect(lookedUp).toHaveBeenCalledWith(interview.id);
    // The join went on to open the room after the lookup: that room must not keep a member.
    expect(opened).toHaveLength(1);
    await waitFor(() => opened[0]!.closed, { timeoutMs: 5000, what: 'the empty room to close when idle' });
    expect(sessions.get(interview.id)?.room).toBeUndefined();
    sessions.close();
  });
});
