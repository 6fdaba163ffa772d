// The mediasoup worker dies while the interview's first recording is still being set up (before
// any track is bound to it): that recording belongs to a router that is gone, and the room opened
// on the replacement worker must get a recording of its own.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import { publishSynthetic, waitForRecordedBytes } from '../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

describe('when the media worker dies while the first recording is being set up', () => {
  let t: TestService | undefined;
  const publishers: SyntheticPublisher[] = [];

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const publisher of publishers.splice(0)) await publisher.close().catch(() => undefined);
    await t?.close();
    t = undefined;
  });

  it('records the interview in the room opened on the replacement worker', async () => {
    t = await startTestService();
    const service = t;
    const interview = await service.createInterview({ durationSeconds: 120 });
    // The first recording is held half-made until the worker under it has died.
    let release!: () => void;
    const workerDead = new Promise<void>((resolve) => (release = resolve));
    const create = InterviewRecording.create.bind(InterviewRecording);
    let creations = 0;
    const made: { router: unknown; recording: InterviewRecording }[] = [];
    vi.spyOn(InterviewRecording, 'create').mockImplementation(async (options) => {
      if (creations++ === 0) await workerDead;
      const recording = await create(options);
      made.push({ router: options.router, recording });
      return recording;
    });

    publishers.push(await publishSynthetic(service, interview.id));
    await waitFor(() => creations > 0, { timeoutMs: 10_000, what: 'the coordinator to start a recording' });
    const room = service.service.sessions.get(interview.id)?.room!;
    const deadPid = service.service.workers.workers[0]!.pid;
    const closed = new Promise((resolve) => room.once('closed', resolve));
    process.kill(deadPid, 'SIGKILL');
    await closed;
    release();
    // The candidate's old connection is gone with the worker: its sender stops too.
    await publishers.shift()?.close().catch(() => undefined);

    // The candidate publishes again, into a room on the replacement worker.
    const again = await waitFor(() => publishSynthetic(service, interview.id).catch(() => null), {
      timeoutMs: 15_000,
      what: 'a room on the replacement worker',
    });
    publishers.push(again);
    try {
      await waitForRecordedBytes(service, interview.id, 100_000, 30_000);
    } catch (error) {
      // What the recording in charge looked like, to tell a stale recording from a slow one.
      const recording = await service.service.sessions.get(interview.id)?.recording;
      console.log(`recording: ${recording ? JSON.stringify({ stopped: recording.stopped, ...(await recording.stats().catch(() => ({}))) }) : 'none'}; creations ${creations}`);
      throw error;
    }

    // The recording in charge is a new one, made on the new room's router (a live worker), not
    // the first one, which was made for the dead router.
    const newRoom = service.service.sessions.get(interview.id)?.room!;
    expect(newRoom).not.toBe(room);
    expect(newRoom.router.closed).toBe(false);
    expect(room.router.closed).toBe(true);
    expect(service.service.workers.workers.map((worker) => worker.pid)).not.toContain(deadPid);
    const inCharge = await service.service.sessions.get(interview.id)?.recording;
    expect(inCharge).toBeDefined();
    const entry = made.find((candidate) => candidate.recording === inCharge);
    expect(entry, 'the recording in charge was made by InterviewRecording.create').toBeDefined();
    expect(entry!.router).toBe(newRoom.router);
    expect(made.indexOf(entry!)).toBeGreaterThan(0);
    expect(inCharge!.stopped).toBe(false);
    // Media keeps growing in it: every track flows and the files get longer.
    const before = await inCharge!.stats();
    await waitFor(async () => (await inCharge!.stats()).bytesWritten.screen >= before.bytesWritten.screen + 50_000, {
      timeoutMs: 10_000,
      what: 'the screen recording to keep growing',
    });
    const after = await inCharge!.stats();
    expect(after.bytesWritten.candidate).toBeGreaterThan(before.bytesWritten.candidate);
    for (const track of ['screen', 'camera', 'audio'] as const) expect(after.relay[track].packetsForwarded, track).toBeGreaterThan(before.relay[track].packetsForwarded);
  });
});
