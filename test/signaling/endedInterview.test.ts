import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InterviewService } from '../../server/lifecycle/InterviewService.ts';
import type { InterviewRoom } from '../../server/sfu/InterviewRoom.ts';
import { startTestService, type TestService } from '../support/testService.ts';
import { connect, request, type RawSocket } from './signalingClient.ts';

/** A gate a test opens by hand, and a promise that says when someone is waiting at it. */
function gate(): { reached: Promise<void>; wait: () => Promise<void>; open: () => void } {
  let reach!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    reached,
    wait: () => {
      reach();
      return opened;
    },
    open,
  };
}

const endNotice = (id: string) => ({ endUrl: `/interview/end/${id}`, cause: null });

describe('an ended interview opens no media to a candidate, whenever its end lands', () => {
  let ts: TestService;
  const sockets: RawSocket[] = [];
  const open = async (token: string) => {
    const socket = await connect(ts.url, token);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    ts = await startTestService();
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });

  afterAll(async () => {
    await ts?.close();
  });

  it('refuses a join whose interview ended while the join was reading it, with the interviewEnded notice and no room left open', async () => {
    const interview = await ts.createInterview();
    const candidate = await open(interview.candidateToken);
    // The join reads the interview before the end is stored and goes on only after the end.
    const interviews: InterviewService = ts.service.interviews;
    const find = interviews.find.bind(interviews);
    const held = gate();
    let first = true;
    interviews.find = async (id) => {
      const found = await find(id);
      if (id === interview.id && first) {
        first = false;
        await held.wait();
      }
      return found;
    };
    try {
      const notices: unknown[] = [];
      candidate.on('interviewEnded', (notice) => notices.push(notice));
      const joining = request(candidate, 'join', { interviewId: interview.id });
      await held.reached;
      expect((await ts.api('POST', `/api/interviews/${interview.id}/end`, {})).status).toBe(200);
      held.open();
      expect(await joining).toEqual({ ok: false, error: { code: 'conflict', message: 'the interview has ended' } });
      expect(await request(candidate, 'createTransport', { direction: 'send' })).toEqual({ ok: false, error: { code: 'conflict', message: 'send join first' } });
      expect(ts.service.sessions.get(interview.id)?.room).toBeUndefined();
      // Once when the end was stored, once for the refused join (both answer the page the same way).
      expect(notices.length).toBeGreaterThanOrEqual(1);
      expect(notices.at(-1)).toEqual(endNotice(interview.id));
    } finally {
      interviews.find = find;
    }
  });

  it('refuses a send transport whose interview ended while it was being made, and closes it', async () => {
    const interview = await ts.createInterview();
    const candidate = await open(interview.candidateToken);
    expect((await request(candidate, 'join', { interviewId: interview.id })).ok).toBe(true);
    const room = ts.service.sessions.get(interview.id)!.room!;
    const made: Array<{ closed: boolean }> = [];
    const create = room.createWebRtcTransport.bind(room);
    const held = gate();
    // The transport exists before the end is stored; its answer goes out only after.
    (room as { createWebRtcTransport: InterviewRoom['createWebRtcTransport'] }).createWebRtcTransport = async (direction) => {
      const transport = await create(direction);
      made.push(transport);
      await held.wait();
      return transport;
    };
    const creating = request(candidate, 'createTransport', { direction: 'send' });
    await held.reached;
    expect((await ts.api('POST', `/api/interviews/${interview.id}/end`, {})).status).toBe(200);
    held.open();
    expect(await creating).toEqual({ ok: false, error: { code: 'conflict', message: 'the interview has ended' } });
    expect(made).toHaveLength(1);
    expect(made[0]!.closed).toBe(true);
  });

  it('never opens a room again for an interview that has ended, whoever asks', async () => {
    const interview = await ts.createInterview();
    const candidate = await open(interview.candidateToken);
    expect((await request(candidate, 'join', { interviewId: interview.id })).ok).toBe(true);
    const session = ts.service.sessions.get(interview.id)!;
    expect((await ts.api('POST', `/api/interviews/${interview.id}/end`, {})).status).toBe(200);
    await expect(session.openRoom()).rejects.toMatchObject({ code: 'conflict', message: 'the interview has ended' });
    expect(session.room).toBeUndefined();
  });
});
