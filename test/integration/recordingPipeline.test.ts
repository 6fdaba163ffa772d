import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCues, probeFile } from '../support/ffprobe.ts';
import { audioPacketHashes, sharedAudioRun, download, getInterview, publishSynthetic, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { asAdmin, capturingLogger, startTestService, type TestService } from '../support/testService.ts';


describe('an interview recorded from a synthetic publisher', () => {
  let t: TestService | undefined;
  let publisher: SyntheticPublisher | undefined;
  afterEach(async () => {
    await publisher?.close();
    await t?.close();
    publisher = undefined;
    t = undefined;
  });

  it('is ended by the server timer, uploaded, and both URLs serve seekable VP9 + Opus WebM with the same audio', async () => {
    t = await startTestService();
    const interview = await t.createInterview({ durationSeconds: 12 });
    publisher = await publishSynthetic(t, interview.id);

    const live = await waitForStatus(t, interview.id, 'live', 20_000);
    expect(Date.parse(live.endsAt!) - Date.parse(live.startedAt!)).toBe(12_000);

    const finalizing = await waitForStatus(t, interview.id, ['finalizing', 'completed'], 30_000);
    const endedAt = Date.now();
    expect(Math.abs(Date.parse(finalizing.completedAt!) - Date.parse(live.endsAt!))).toBeLessThan(1000);

    const done = await waitForStatus(t, interview.id, 'completed', 60_000);
    console.log(`end → URLs for a 12 s interview: ${Date.now() - endedAt} ms (upper bound, polled)`);
    expect(done.screenVideo).toBe(`${t.url}/media/interviews/${interview.id}/screen.webm`);
    expect(done.candidateVideo).toBe(`${t.url}/media/interviews/${interview.id}/candidate.webm`);

    const files = await Promise.all([download(done.screenVideo), download(done.candidateVideo)]);
    for (const file of files) {
      const probe = await probeFile(file);
      expect(probe.video?.codecName).toBe('vp9');
      expect(probe.audio?.codecName).toBe('opus');
      expect(probe.durationSeconds).toBeGreaterThan(12 - 1.5);
      expect(probe.durationSeconds).toBeLessThan(12 + 1.5);
      expect(Math.abs(probe.video!.startTime! - probe.audio!.startTime!)).toBeLessThan(0.1);
      expect(await hasCues(file)).toBe(true);
    }
    const [screenAudio = [], candidateAudio = []] = await Promise.all(files.map(audioPacketHashes));
    expect(screenAudio.length).toBeGreaterThan(400);
    expect(sharedAudioRun(screenAudio, candidateAudio)).toBeGreaterThan(0.98 * Math.max(screenAudio.length, candidateAudio.length));

    // Local files are deleted once the stored objects are verified and the filmstrip is made from them.
    await t.service.sessions.idle();
    expect(fs.existsSync(t.service.sessions.recordingDirOf(interview.id))).toBe(false);
  });

  it('serves byte ranges of a recording, so a browser can seek', async () => {
    t = await startTestService();
    const interview = await t.createInterview({ durationSeconds: 10 });
    publisher = await publishSynthetic(t, interview.id);
    await waitForStatus(t, interview.id, 'live', 20_000);
    await waitForRecordedBytes(t, interview.id, 500_000);
    const ended = await t.api<{ status: string }>('POST', `/api/interviews/${interview.id}/end`, { score: 4, notes: 'ended early by the admin' });
    expect(ended.status).toBe(200);
    const done = await waitForStatus(t, interview.id, 'completed', 60_000);
    expect(done).toMatchObject({ score: 4, notes: 'ended early by the admin' });
    expect(Date.parse(done.completedAt!)).toBeLessThan(Date.parse(done.endsAt!));

    const whole = Buffer.from(await (await fetch(done.screenVideo, { headers: asAdmin() })).arrayBuffer());
    const partial = await fetch(done.screenVideo, { headers: { ...asAdmin(), range: 'bytes=100-199' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 100-199/${whole.length}`);
    expect(Buffer.from(await partial.arrayBuffer()).equals(whole.subarray(100, 200))).toBe(true);
  });

  it('keeps a created interview ended before any media as completed without recordings', async () => {
    t = await startTestService();
    const interview = await t.createInterview({ durationSeconds: 60 });
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    const done = await waitForStatus(t, interview.id, 'completed', 10_000);
    expect(done).toMatchObject({ screenVideo: '', candidateVideo: '' });
    expect((await getInterview(t, interview.id)).completedAt).not.toBeNull();
  });

  it('completes an interview ended before its recorder wrote any media, once, without recordings', async () => {
    t = await startTestService();
    const interview = await t.createInterview({ durationSeconds: 60 });
    // What a recorder leaves when the interview ends within a moment of going live: its segment
    // directory, and files ffmpeg opened but never wrote a frame into.
    const recordingDir = path.join(t.dataDir, 'recordings', interview.id);
    fs.mkdirSync(path.join(recordingDir, 'segment-000'), { recursive: true });
    fs.writeFileSync(path.join(recordingDir, 'segment-000', 'screen.webm'), '');
    const outcomes: string[] = [];
    t.service.sessions.on('completed', (done) => done.id === interview.id && outcomes.push('completed'));
    t.service.sessions.on('failed', (done) => done.id === interview.id && outcomes.push('failed'));
    // Ended three times at once (a proctor's double click, the admin, the timer): one finalization.
    const ends = await Promise.all([1, 2, 3].map(() => t!.api('POST', `/api/interviews/${interview.id}/end`, {})));
    expect(ends.map((end) => end.status)).toEqual([200, 200, 200]);
    const done = await waitForStatus(t, interview.id, ['completed', 'failed'], 20_000);
    await t.service.sessions.idle();
    expect(done).toMatchObject({ status: 'completed', screenVideo: '', candidateVideo: '' });
    expect(outcomes).toEqual(['completed']);
    expect(fs.existsSync(recordingDir)).toBe(false);

    // And a restart does not finalize it again: still completed, as it was, with nothing on disk.
    const dataDir = t.dataDir;
    await t.close({ keepDataDir: true });
    const log = capturingLogger('debug');
    t = await startTestService({ DATA_DIR: dataDir }, { logger: log.logger });
    await t.service.sessions.idle();
    expect(log.lines.filter((line) => line.interviewId === interview.id).map((line) => line.msg)).toEqual([]);
    expect(await getInterview(t, interview.id)).toMatchObject({ status: 'completed', completedAt: done.completedAt, screenVideo: '', candidateVideo: '', failureReason: null });
    expect(t.service.sessions.get(interview.id)?.liveProgress).toBeUndefined();
    expect(fs.existsSync(recordingDir)).toBe(false);
  });

  it('keeps a recording ffmpeg cannot read on disk and reports the interview failed', async () => {
    t = await startTestService();
    const interview = await t.createInterview({ durationSeconds: 60 });
    const segment = path.join(t.dataDir, 'recordings', interview.id, 'segment-000');
    fs.mkdirSync(segment, { recursive: true });
    fs.writeFileSync(path.join(segment, 'screen.webm'), Buffer.alloc(4096, 0x5a));
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    const done = await waitForStatus(t, interview.id, ['completed', 'failed'], 20_000);
    expect(done.status).toBe('failed');
    expect(done.failureReason).toMatch(/holds any screen media/);
    expect(fs.existsSync(path.join(segment, 'screen.webm'))).toBe(true);
  });
});
