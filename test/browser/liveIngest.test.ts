import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { buildClient, launchBrowser, pageErrors, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';

const TRACKS = ['screen', 'camera', 'audio'] as const;

/** CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticksPerSecond = 100;
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

async function packetCounts(ts: TestService, interviewId: string): Promise<number[]> {
  const room = ts.service.sessions.get(interviewId)?.room;
  if (!room) return [0, 0, 0];
  return Promise.all(
    TRACKS.map(async (track) => {
      const producer = room.getProducer(track);
      if (!producer) return 0;
      return (await producer.getStats()).reduce((sum, stat) => sum + stat.packetCount, 0);
    }),
  );
}

interface ProctorView {
  screen: { width: number; time: number };
  camera: { width: number; time: number };
  audio: { live: boolean; muted: boolean } | null;
  firstFrame: { screen: number | null; camera: number | null; joined: number | null; connected: number | null; consumed: number | null };
}

function proctorView(page: Page): Promise<ProctorView> {
  return page.evaluate(() => {
    const video = (id: string) => document.getElementById(id) as HTMLVideoElement;
    const audioTrack = ((document.getElementById('audio') as HTMLAudioElement).srcObject as MediaStream | null)?.getAudioTracks()[0];
    const mark = (name: string) => performance.getEntriesByName(name)[0]?.startTime ?? null;
    return {
      screen: { width: video('screen').videoWidth, time: video('screen').currentTime },
      camera: { width: video('camera').videoWidth, time: video('camera').currentTime },
      audio: audioTrack ? { live: audioTrack.readyState === 'live', muted: audioTrack.muted } : null,
      firstFrame: { screen: mark('first-frame-screen'), camera: mark('first-frame-camera'), joined: mark('joined'), connected: mark('media-connected'), consumed: mark('consumer-created-screen') },
    };
  });
}

async function expectPlaying(page: Page, label: string): Promise<ProctorView> {
  const first = await waitFor(async () => {
    const view = await proctorView(page);
    const playing = view.screen.width > 0 && view.camera.width > 0 && view.audio?.live && !view.audio.muted;
    return playing && view.firstFrame.screen !== null && view.firstFrame.camera !== null ? view : null;
  }, { timeoutMs: 15_000, what: `${label}: both videos and the audio playing` });
  await waitFor(async () => {
    const view = await proctorView(page);
    return view.screen.time > first.screen.time + 0.5 && view.camera.time > first.camera.time + 0.5;
  }, { timeoutMs: 10_000, what: `${label}: both videos advancing` });
  return proctorView(page);
}

describe('live ingest: the candidate publishes screen, camera and system audio; proctors watch live', () => {
  let ts: TestService;
  let candidateBrowser: TestBrowser;
  let proctorBrowser: TestBrowser;
  let interview: CreatedInterview;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    [candidateBrowser, proctorBrowser] = await Promise.all([launchBrowser(), launchBrowser()]);
    interview = await ts.createInterview({ candidateName: 'Ada', durationSeconds: 600 });
  });

  afterAll(async () => {
    await Promise.all([candidateBrowser?.close(), proctorBrowser?.close()]);
    await ts?.close();
  });

  it('goes live once the candidate presses Start, and two proctors see and hear the candidate', async () => {
    const worker = ts.service.workers.workers[0]!;
    const cpuAtStart = cpuMs(worker.pid);
    const wallAtStart = Date.now();

    const candidate = await candidateBrowser.newPage();
    const candidateErrors = pageErrors(candidate);
    await candidate.goto(interview.candidateUrl);
    const start = candidate.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled(), { timeout: 10_000 }).toBe(true);
    await start.click();

    await waitFor(async () => (await packetCounts(ts, interview.id)).every((count) => count > 0), {
      timeoutMs: 20_000,
      what: `RTP on all three producers (candidate page errors: ${candidateErrors.join(' | ')})`,
    });
    const live = await waitFor(async () => {
      const { body } = await ts.api<{ status: string; startedAt: string | null; endsAt: string | null }>('GET', `/api/interviews/${interview.id}`);
      return body.status === 'live' ? body : null;
    }, { timeoutMs: 10_000, what: 'the interview to be live' });
    expect(Date.parse(live.endsAt!) - Date.parse(live.startedAt!)).toBe(600_000);
    const room = ts.service.sessions.get(interview.id)?.room!;
    expect(room.getProducer('screen')!.kind).toBe('video');
    expect(room.getProducer('screen')!.rtpParameters.codecs[0]!.mimeType).toBe('video/VP9');
    expect(room.getProducer('camera')!.rtpParameters.codecs[0]!.mimeType).toBe('video/VP9');
    expect(room.getProducer('audio')!.rtpParameters.codecs[0]!.mimeType).toBe('audio/opus');
    await expect.poll(() => candidate.locator('#recording').textContent(), { timeout: 10_000 }).toBe('Recording');
    await expect.poll(() => candidate.locator('#time-left').textContent()).toMatch(/^(10:00|9:\d\d)$/);

    const proctors = await Promise.all([proctorBrowser.newPage(), proctorBrowser.newPage()]);
    await Promise.all(proctors.map((page) => page.goto(interview.proctorUrl)));
    const views = await Promise.all(proctors.map((page, index) => expectPlaying(page, `proctor ${index + 1}`)));
    for (const [index, view] of views.entries()) {
      const { screen, camera, joined } = view.firstFrame;
      console.log(
        `proctor ${index + 1} time to first frame: screen ${screen?.toFixed(0)} ms, camera ${camera?.toFixed(0)} ms after navigation` +
          ` (${(screen! - joined!).toFixed(0)} / ${(camera! - joined!).toFixed(0)} ms after join;` +
          ` consumer ${(view.firstFrame.consumed! - joined!).toFixed(0)} ms, media connected ${(view.firstFrame.connected! - joined!).toFixed(0)} ms after join)`,
      );
      // From the media connection, so signalling and ICE under load do not count: a key frame is
      // requested for the new consumer, not waited for (Chromium sends none by itself).
      expect(screen! - view.firstFrame.connected!).toBeLessThan(3000);
    }
    await expect.poll(() => proctors[0]!.locator('#status').textContent()).toMatch(/^Live; candidate publishing screen, camera and audio/);
    await expect.poll(() => proctors[0]!.locator('#quality').getAttribute('data-verdict'), { timeout: 10_000 }).toBe('good');

    const seconds = (Date.now() - wallAtStart) / 1000;
    const cpu = cpuMs(worker.pid) - cpuAtStart;
    console.log(`mediasoup worker: ${(cpu / 10 / seconds).toFixed(1)}% of a core over ${seconds.toFixed(1)} s (1 candidate, 2 proctors)`);
    expect(candidateErrors).toEqual([]);
  });

  it('ends the interview from the proctor page and sends the candidate to the end page', async () => {
    const [candidate] = candidateBrowser.context.pages().filter((page) => page.url().includes('/interview/'));
    const proctor = proctorBrowser.context.pages().find((page) => page.url().includes('/proctor/'))!;
    await proctor.getByRole('button', { name: 'End interview' }).click();
    await proctor.getByRole('button', { name: 'Yes, end the interview' }).click();
    await candidate!.waitForURL((url) => url.pathname === `/interview/end/${interview.id}`, { timeout: 10_000 });
    // The end page keeps the candidate's token, in the fragment only, to follow the upload.
    expect(new URL(candidate!.url()).hash).toBe(`#token=${interview.candidateToken}`);
    await expect.poll(() => candidate!.getByRole('heading', { level: 1 }).textContent()).toBe('Your interview has finished');
    const { body } = await ts.api<{ status: string }>('GET', `/api/interviews/${interview.id}`);
    expect(['finalizing', 'completed']).toContain(body.status);
    // And the recording of the live ingest is delivered: completed, never failed.
    await expect
      .poll(async () => (await ts.api<{ status: string }>('GET', `/api/interviews/${interview.id}`)).body.status, { timeout: 30_000, interval: 200 })
      .toMatch(/^(completed|failed)$/);
    const done = (await ts.api<{ status: string; screenVideo: string; candidateVideo: string; failureReason: string | null }>('GET', `/api/interviews/${interview.id}`)).body;
    expect(done).toMatchObject({ status: 'completed', failureReason: null });
    expect(done.screenVideo).not.toBe('');
    expect(done.candidateVideo).not.toBe('');
    await expect.poll(() => proctor.locator('#status').textContent()).toBe('Ended');
    expect(ts.service.sessions.get(interview.id)?.room).toBeUndefined();
  });
});
