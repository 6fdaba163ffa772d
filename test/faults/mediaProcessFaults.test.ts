// Faults: the recorder's ffmpeg is SIGKILLed, then the interview's mediasoup worker is SIGKILLed,
// in a real service process with a real candidate (Chromium). ffmpeg is restarted into a new
// segment within 1 s; the dead worker is replaced, the room reopens, the page gets mediaReset and
// republishes, and a new recording starts on the new router. Segments are concatenated: both
// outages are CUT OUT of the final files.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBrowser } from '../support/browser.ts';
import {
  downloadTo,
  type InterviewState,
  recordedMedia,
  seconds,
  segmentDirs,
  segmentSpanSeconds,
  startLiveInterview,
  waitForInterview,
  waitForMediaFlowing,
} from '../support/faults.ts';
import { ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

const INTERVIEW_SECONDS = 30;
/** How long the interview records between faults (the sleeps below are this recording time). */
const RECORD_MS = 7000;

interface Fault {
  what: string;
  cause: string;
  at: number;
  resumedAt: number;
  /** Media recorded before the fault that never reached the segment (bounded by its own check). */
  lostBeforeSeconds: number;
}

describe('when ffmpeg and then the mediasoup worker of a live interview are killed', () => {
  let env: ServiceEnv;
  let service: ServiceProcess;
  let browser: TestBrowser;
  let interview: { id: string; candidateUrl: string };
  let segmentFlowingAt = 0;
  /** The interview's end as set when it went live. */
  let endsAt = '';
  let live: InterviewState;
  const faults: Fault[] = [];
  const downloads = tempDir('fault-downloads-');

  beforeAll(async () => {
    env = await serviceEnv();
    ({ service, browser, interview, mediaFlowingAt: segmentFlowingAt, live } = await startLiveInterview(env, INTERVIEW_SECONDS));
    endsAt = live.endsAt!;
  });

  afterAll(async () => {
    await browser?.close();
    await service?.kill();
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
    fs.rmSync(downloads, { recursive: true, force: true });
  });

  it('ffmpeg killed: a new ffmpeg records into a new segment within 1 s, with at most 2 s lost before the kill', async () => {
    await sleep(RECORD_MS);
    // The recorder's ffmpeg (the live remuxes of progressive upload are ffmpegs too): the one that
    // started the current segment.
    const pid = service.logged('recording segment started').at(-1)?.pid as number | undefined;
    expect(pid).toBeDefined();
    expect(service.children('ffmpeg')).toContain(pid);
    const segment = segmentDirs(env.DATA_DIR, interview.id).at(-1)!;
    const killAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    const restarted = await waitFor(() => service.logged('recording segment started').find((line) => line.time > killAt && line.pid !== pid), {
      timeoutMs: 5000,
      what: 'a new ffmpeg',
    });
    const flowing = await waitForMediaFlowing(service, killAt, 10_000);
    console.log(`ffmpeg: restarted ${restarted.time - killAt} ms after the kill, media flowing after ${flowing.time - killAt} ms`);
    expect(restarted.time - killAt).toBeLessThan(1000);
    const missing = (killAt - segmentFlowingAt) / 1000 - (await segmentSpanSeconds(path.join(segment, 'screen.webm')));
    console.log(`ffmpeg: ${missing.toFixed(2)} s missing before the kill`);
    expect(missing).toBeLessThan(2);
    faults.push({ what: 'ffmpeg SIGKILL', cause: 'recorder restarted', at: killAt, resumedAt: flowing.time, lostBeforeSeconds: missing });
    segmentFlowingAt = flowing.time;
  });

  it('worker killed: the room reopens on a new worker, the page republishes and a new recording starts', async () => {
    await sleep(RECORD_MS);
    const [workerPid] = service.children('mediasoup-worke');
    expect(workerPid).toBeDefined();
    const segment = segmentDirs(env.DATA_DIR, interview.id).at(-1)!;
    const killAt = Date.now();
    process.kill(workerPid!, 'SIGKILL');
    const flowing = await waitForMediaFlowing(service, killAt, 30_000);
    console.log(`worker: media flowing again ${flowing.time - killAt} ms after the kill`);
    expect(service.children('mediasoup-worke')).not.toContain(workerPid);
    // The old segment was closed when its router went away: only packets in flight are lost.
    const missing = (killAt - segmentFlowingAt) / 1000 - (await segmentSpanSeconds(path.join(segment, 'screen.webm')));
    console.log(`worker: ${missing.toFixed(2)} s missing before the kill`);
    expect(missing).toBeLessThan(2);
    faults.push({ what: 'worker SIGKILL', cause: 'media server restarted', at: killAt, resumedAt: flowing.time, lostBeforeSeconds: missing });
  });

  it('ends on time; the final files hold the interview minus the outages, in sync, with both gaps recorded', async () => {
    const done = await waitForInterview(service, interview.id, (state) => state.status === 'completed', 'the interview to complete', 60_000);
    // On time: ended by the timer armed at the original endsAt, which no fault moved.
    const lateMs = Date.parse(done.completedAt!) - Date.parse(endsAt);
    console.log(`ended ${lateMs} ms after endsAt`);
    expect(done.endsAt).toBe(endsAt);
    expect(Math.abs(lateMs)).toBeLessThan(1500);
    const lengthMs = Date.parse(done.completedAt!) - Date.parse(done.startedAt!);
    const outageMs = faults.reduce((sum, fault) => sum + (fault.resumedAt - fault.at), 0);
    // The real outage of each fault: from the last media its segment kept to the first media after it.
    const lostBeforeSeconds = faults.reduce((sum, fault) => sum + Math.max(0, fault.lostBeforeSeconds), 0);
    const expected = (lengthMs - outageMs) / 1000 - lostBeforeSeconds;

    expect(done.gaps.map((gap) => gap.cause)).toEqual(faults.map((fault) => fault.cause));
    for (const [index, fault] of faults.entries()) {
      const gap = done.gaps[index]!;
      expect(Math.abs(Date.parse(gap.start) - fault.at)).toBeLessThan(1000);
      // ffmpeg's gap ends when its successor listens; the worker's when media flows again.
      expect(Date.parse(gap.end!)).toBeLessThan(fault.resumedAt + 1000);
      expect(Date.parse(gap.end!)).toBeGreaterThan(fault.at);
    }

    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      const media = await recordedMedia(file);
      console.log(
        `${kind}.webm: ${media.durationSeconds} s; interview ${seconds(lengthMs)} s, outages ${faults.map((f) => `${f.what} ${seconds(f.resumedAt - f.at)} s`).join(', ')}, lost before the faults ${lostBeforeSeconds.toFixed(2)} s → expected ${expected.toFixed(2)} s`,
      );
      expect(Math.abs(media.durationSeconds! - expected)).toBeLessThan(2);
      expect(media.video.gaps).toEqual([]);
      expect(media.audio.gaps).toEqual([]);
      expect(Math.abs(media.video.first - media.audio.first)).toBeLessThan(0.5);
      expect(Math.abs(media.video.last - media.audio.last)).toBeLessThan(0.5);
    }
  });
});
