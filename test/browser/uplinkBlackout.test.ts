// The candidate's uplink goes black for 5 s mid-interview (every UDP datagram it sends dropped by
// iptables on a host of its own; its signalling over TCP and its downlink stay up). The same two
// files go on once media is back, and the blackout is a gap of about its length, with its cause.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pressStart, pageErrors, type TestBrowser } from '../support/browser.ts';
import { startCandidateHostBed, type CandidateHost } from '../support/candidateHost.ts';
import { decodeErrors, hasCues, probeFile } from '../support/ffprobe.ts';
import { download, waitForStatus } from '../support/recordedInterview.ts';
import { waitFor } from '../support/testConfig.ts';
import type { TestService } from '../support/testService.ts';

const DURATION_SECONDS = 25;
const BLACKOUT_MS = 5000;

describe('a candidate whose uplink goes black for 5 s', () => {
  let host: CandidateHost;
  let ts: TestService;
  let browser: TestBrowser;

  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    ({ host, ts, browser, close } = await startCandidateHostBed());
  });

  afterAll(() => close());

  it('keeps the same two files and records the blackout as a gap of its length', async () => {
    const interview = await ts.createInterview({ durationSeconds: DURATION_SECONDS });
    const page = await browser.newPage();
    const errors = pageErrors(page);
    await pressStart(page, interview.candidateUrl);
    const live = await waitForStatus(ts, interview.id, 'live', 20_000);
    // Well into the interview: the recording is running in its first segment.
    await waitFor(() => Date.now() - Date.parse(live.startedAt!) > 8000, { timeoutMs: 20_000, intervalMs: 100, what: '8 s of recording' });
    const restore = host.blackOutUplink();
    const blackedOutAt = Date.now();
    await waitFor(() => Date.now() - blackedOutAt >= BLACKOUT_MS, { timeoutMs: BLACKOUT_MS + 2000, intervalMs: 20, what: 'the blackout' });
    restore();
    const restoredAt = Date.now();

    const done = await waitForStatus(ts, interview.id, 'completed', (DURATION_SECONDS + 90) * 1000);
    console.log(`blackout of ${restoredAt - blackedOutAt} ms: gaps ${JSON.stringify(done.gaps)}`);
    expect(errors).toEqual([]);
    expect(done.gaps).toHaveLength(1);
    const gap = done.gaps[0]!;
    expect(gap.end).not.toBeNull();
    const gapMs = Date.parse(gap.end!) - Date.parse(gap.start);
    expect(gap.cause).toBe('candidate connection lost');
    // The gap starts when the packets stopped and ends when they are back (a key frame away).
    expect(Math.abs(Date.parse(gap.start) - blackedOutAt)).toBeLessThanOrEqual(1000);
    expect(gapMs).toBeGreaterThanOrEqual(BLACKOUT_MS - 1000);
    expect(gapMs).toBeLessThanOrEqual(BLACKOUT_MS + 2500);

    for (const file of await Promise.all([download(done.screenVideo), download(done.candidateVideo)])) {
      const probe = await probeFile(file);
      const videoErrors = await decodeErrors(file);
      console.log(`blackout ${path.basename(file)}: ${probe.durationSeconds} s for a ${DURATION_SECONDS} s interview with a ${gapMs} ms gap; ${videoErrors.length} decode errors`);
      // Both stretches are in the file, the gap's time kept in its timeline.
      expect(Math.abs(probe.durationSeconds! - DURATION_SECONDS)).toBeLessThanOrEqual(1.5);
      expect(await hasCues(file)).toBe(true);
      expect(videoErrors).toEqual([]);
    }

    // The review page shades the gap where it lies on the recordings' clock (from the interview's start).
    const review = await browser.newPage();
    await review.goto(`${new URL(interview.candidateUrl).origin}/review/${interview.id}#token=${interview.proctorToken}`);
    await expect.poll(() => review.locator('.timeline-gap').count(), { timeout: 15_000 }).toBe(1);
    const shaded = await review.evaluate(() => {
      const span = document.querySelector('.timeline-gap')!.getBoundingClientRect();
      const track = document.getElementById('timeline-track')!;
      const inner = track.getBoundingClientRect();
      const width = inner.width - track.clientLeft * 2;
      const duration = (document.getElementById('screen-video') as HTMLVideoElement).duration;
      return { start: ((span.left - inner.left - track.clientLeft) / width) * duration, end: ((span.right - inner.left - track.clientLeft) / width) * duration };
    });
    const expected = { start: (Date.parse(gap.start) - Date.parse(done.startedAt!)) / 1000, end: (Date.parse(gap.end!) - Date.parse(done.startedAt!)) / 1000 };
    console.log(`review page: gap shaded ${shaded.start.toFixed(2)}–${shaded.end.toFixed(2)} s, stored ${expected.start.toFixed(2)}–${expected.end.toFixed(2)} s`);
    expect(Math.abs(shaded.start - expected.start)).toBeLessThan(0.5);
    expect(Math.abs(shaded.end - expected.end)).toBeLessThan(0.5);
    expect(await review.locator('#timeline-gaps li').textContent()).toMatch(/^Not recorded from 0:\d\d to 0:\d\d: candidate connection lost$/);
  });
});
