// Faults on the candidate's side, with a real service process and real Chromium: the candidate
// reloads the page, then loses the network for 10 s (iptables DROP on the loopback for the
// service's HTTP port and RTC slice — Chromium's offline emulation would not stop WebRTC). The
// page rejoins and republishes by itself (after a reload the browser needs one click to share the
// screen again; the test gives it). Both outages are KEPT in the timeline (the relay splices the
// producers into the same segment with the real wall-clock pause), so the final files last the
// whole interview, with silence/no frames where the candidate was away.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBrowser } from '../support/browser.ts';
import {
  downloadTo,
  type InterviewState,
  type Gap,
  NetworkCut,
  pauseNear,
  recordedMedia,
  seconds,
  segmentDirs,
  shareAgain,
  startLiveInterview,
  waitForInterview,
} from '../support/faults.ts';
import { ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir } from '../support/testConfig.ts';

const INTERVIEW_SECONDS = 40;
/** How long the interview records between faults (the sleeps below are this recording time). */
const RECORD_MS = 5000;
/** The network outage: the sleep while the rules are in place is the outage itself. */
const OFFLINE_MS = 10_000;

interface Fault {
  what: string;
  at: number;
  gap: Gap;
}

const gapMs = (gap: Gap) => Date.parse(gap.end!) - Date.parse(gap.start);

describe('when the candidate reloads the page and then loses the network for 10 s', () => {
  let env: ServiceEnv;
  let service: ServiceProcess;
  let browser: TestBrowser;
  let candidate: Page;
  let cut: NetworkCut;
  let interview: { id: string; candidateUrl: string };
  let firstMediaAt = 0;
  /** The interview's end as set when it went live. */
  let endsAt = '';
  let live: InterviewState;
  const faults: Fault[] = [];
  const downloads = tempDir('fault-downloads-');

  beforeAll(async () => {
    env = await serviceEnv();
    ({ service, browser, interview, candidate, mediaFlowingAt: firstMediaAt, live } = await startLiveInterview(env, INTERVIEW_SECONDS));
    // The port the service got (PORT 0), read back by ServiceProcess.start.
    cut = new NetworkCut(Number(env.PORT), Number(env.RTC_MIN_PORT), Number(env.RTC_MAX_PORT));
    endsAt = live.endsAt!;
  });

  afterAll(async () => {
    cut?.restore();
    await browser?.close();
    await service?.kill();
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
    fs.rmSync(downloads, { recursive: true, force: true });
  });

  it('reload: the page rejoins, the new producers join the same recording and the pause is a gap', async () => {
    await sleep(RECORD_MS);
    const reloadAt = Date.now();
    await candidate.reload();
    await shareAgain(candidate);
    const state = await waitForInterview(service, interview.id, (s) => s.gaps.length === 1, 'the reload to be recorded as a gap');
    const gap = state.gaps[0]!;
    console.log(`reload: media back after ${gapMs(gap)} ms (${gap.cause})`);
    expect(gap.cause).toBe('candidate reconnected');
    expect(Math.abs(Date.parse(gap.start) - reloadAt)).toBeLessThan(1500);
    // Same segment: the relay spliced the new producers in.
    expect(segmentDirs(env.DATA_DIR, interview.id)).toHaveLength(1);
    faults.push({ what: 'reload', at: reloadAt, gap });
  });

  it('network lost for 10 s: media resumes by itself when it is back and the outage is a gap of its real length', async () => {
    await sleep(RECORD_MS);
    const cutAt = cut.cut();
    await sleep(OFFLINE_MS);
    cut.restore();
    const restoredAt = Date.now();
    const state = await waitForInterview(service, interview.id, (s) => s.gaps.length === 2, 'the outage to be recorded as a gap', 20_000);
    const gap = state.gaps[1]!;
    console.log(`network: cut for ${restoredAt - cutAt} ms; gap ${gapMs(gap)} ms (${gap.cause}), media back ${Date.parse(gap.end!) - restoredAt} ms after the restore`);
    expect(['candidate connection lost', 'candidate reconnected']).toContain(gap.cause);
    expect(Math.abs(Date.parse(gap.start) - cutAt)).toBeLessThan(1000);
    expect(gapMs(gap)).toBeGreaterThanOrEqual(OFFLINE_MS - 500);
    expect(gapMs(gap)).toBeLessThan(OFFLINE_MS + 5000);
    expect(segmentDirs(env.DATA_DIR, interview.id)).toHaveLength(1);
    faults.push({ what: 'network', at: cutAt, gap });
  });

  it('ends on time; the final files last the whole interview, with both pauses in place and audio and video in sync after them', async () => {
    const done = await waitForInterview(service, interview.id, (state) => state.status === 'completed', 'the interview to complete', 60_000);
    // On time: ended by the timer armed at the original endsAt, which no fault moved.
    const lateMs = Date.parse(done.completedAt!) - Date.parse(endsAt);
    console.log(`ended ${lateMs} ms after endsAt`);
    expect(done.endsAt).toBe(endsAt);
    expect(Math.abs(lateMs)).toBeLessThan(1500);
    const recordedMs = Date.parse(done.completedAt!) - firstMediaAt;
    expect(done.gaps).toEqual(faults.map((fault) => fault.gap));

    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      const media = await recordedMedia(file);
      console.log(
        `${kind}.webm: ${media.durationSeconds} s (expected ${seconds(recordedMs)} s, gaps kept); audio pauses ${JSON.stringify(media.audio.gaps)}, video pauses ${JSON.stringify(media.video.gaps)}`,
      );
      expect(Math.abs(media.durationSeconds! - recordedMs / 1000)).toBeLessThan(2);
      for (const fault of faults) {
        const expectedAt = (fault.at - firstMediaAt) / 1000;
        const audio = pauseNear(media.audio, expectedAt);
        const video = pauseNear(media.video, expectedAt);
        console.log(`${kind}.webm ${fault.what}: expected a ${seconds(gapMs(fault.gap))} s pause at ${expectedAt.toFixed(2)} s; audio ${audio.seconds.toFixed(2)} s at ${audio.at.toFixed(2)}, video ${video.seconds.toFixed(2)} s at ${video.at.toFixed(2)}`);
        // The pause sits where the fault happened and lasts as long as the recorded gap (the
        // audio has no packets then: Opus sends every 20 ms, without DTX).
        expect(Math.abs(audio.seconds - gapMs(fault.gap) / 1000)).toBeLessThan(0.5);
        // The video stops there too, and comes back on the same clock: no later than the audio
        // (frames the browser queued during the outage arrive late but carry their capture time).
        expect(Math.abs(video.at - audio.at)).toBeLessThan(1);
        expect(video.at + video.seconds).toBeLessThan(audio.at + audio.seconds + 1);
      }
      expect(Math.abs(media.video.last - media.audio.last)).toBeLessThan(0.5);
    }
  });
});
