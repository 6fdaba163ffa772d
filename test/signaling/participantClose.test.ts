import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InterviewService } from '../../server/lifecycle/InterviewService.ts';
import { RoomRegistry } from '../../server/sfu/RoomRegistry.ts';
import type { WorkerPool } from '../../server/sfu/WorkerPool.ts';
import { Participant } from '../../server/signaling/Participant.ts';
import { startTestWorkerPool } from '../support/mediaRouter.ts';
import { waitFor } from '../support/testConfig.ts';

const logger = pino({ level: 'silent' });

describe('a connection that closes while its join is still looking the interview up', () => {
  let pool: WorkerPool;

  beforeAll(async () => {
    pool = await startTestWorkerPool(logger);
  });
  afterAll(() => pool?.close());

  it('leaves no member behind, so the room still closes when idle', async () => {
    const interviewId = crypto.randomUUID();
    const rooms = new RoomRegistry({
      workers: pool,
      transport: { listenIp: { ip: '127.0.0.1' }, maxIncomingBitrate: 5_000_000, initialAvailableOutgoingBitrate: 1_000_000 },
      logger,
      idleCloseMs: 200,
    });
    let found!: () => void;
    const lookup = new Promise<void>((resolve) => (found = resolve));
    // The database answers only after the page has gone (a reload during connect).
    const interviews = {
      find: async () => {
        await lookup;
        return { id: interviewId, status: 'created', candidateName: '', durationSeconds: 600, startedAt: null, endsAt: null };
      },
    } as unknown as InterviewService;
    const participant = new Participant(
      'socket-1',
      { interviewId, role: 'proctor', exp: Math.floor(Date.now() / 1000) + 60 },
      { rooms, interviews, bitrates: { screen: 2_500_000, camera: 1_500_000 }, candidateDashboardUrl: 'http://localhost/', logger, onCandidateJoined: () => undefined },
      () => undefined,
    );
    const joining = participant.handle('join', { interviewId });
    participant.close();
    found();
    await expect(joining).rejects.toMatchObject({ code: 'conflict' });
    const room = rooms.get(interviewId);
    if (room) await waitFor(() => room.closed, { timeoutMs: 5000, what: 'the empty room to close when idle' });
    rooms.close();
  });
});
