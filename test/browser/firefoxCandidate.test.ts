// Debian's Firefox ESR as the candidate: no displaySurface on its screen track, no system audio,
// and (without a sound device) an AudioContext that never starts. The page must still record it.
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../support/browser.ts';
import { decodeErrors, hasCues, largestPtsStep, probeFile, probePackets } from '../support/ffprobe.ts';
import { XVFB_SCREEN, firefoxPageErrors, launchFirefox, type TestFirefox } from '../support/firefox.ts';
import { audioPacketHashes, download, sharedAudioRun, waitForStatus, type InterviewView } from '../support/recordedInterview.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const DURATION_SECONDS = 20;

async function text(page: Page, id: string): Promise<string> {
  return page.evaluate((elementId) => document.getElementById(elementId)?.textContent ?? '', id);
}

/** Opens the candidate page and presses Start once the page has joined (the button is enabled). */
async function startCandidate(page: Page, url: string): Promise<number> {
  await page.goto(url);
  await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled, { timeout: 15_000 });
  const clicked = Date.now();
  await page.click('#start');
  return clicked;
}

describe('a Firefox candidate', () => {
  let ts: TestService;
  const browsers: TestFirefox[] = [];

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
  });

  afterAll(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
    await ts?.close();
  });

  // No sound device here (and no cubeb mock, see support/firefox.ts): AudioContext.resume() would
  // never settle, which once held this page at "Waiting for your browser…". Firefox shares no
  // system audio, so the page sends the microphone as it is and waits for no AudioContext.
  it('is recorded end to end: its whole screen accepted on size and label, microphone only, two VP9 + Opus files', async () => {
    const firefox = await launchFirefox();
    browsers.push(firefox);
    const interview = await ts.createInterview({ candidateName: 'Firefox', durationSeconds: DURATION_SECONDS });
    const page = await firefox.newPage();
    const errors = firefoxPageErrors(page);
    const clicked = await startCandidate(page, interview.candidateUrl);
    const live = await waitForStatus(ts, interview.id, 'live', 20_000);
    console.log(`Firefox: Start → live in ${Date.parse(live.startedAt!) - clicked} ms`);

    // Firefox reports no displaySurface: its "Primary Monitor" track is the X screen's size.
    expect(live.screenSource).toEqual({
      verdict: 'monitor',
      evidence: `firefox: no surface type; ${XVFB_SCREEN.width}×${XVFB_SCREEN.height} against a ${XVFB_SCREEN.width}×${XVFB_SCREEN.height} screen and label “Primary Monitor”`,
    });
    // Firefox never captures system audio: the page says the microphone goes alone.
    expect(await text(page, 'audio-note')).toBe('Your screen share has no computer sound: only your microphone is sent.');
    expect(await text(page, 'message')).toBe('You are sharing your screen, camera and microphone.');

    await waitFor(() => page.url().includes(`/interview/end/${interview.id}`), { timeoutMs: (DURATION_SECONDS + 15) * 1000, what: 'the end page' });
    const done: InterviewView = await waitForStatus(ts, interview.id, 'completed', 60_000);
    expect(errors).toEqual([]);

    const files = await Promise.all([download(done.screenVideo), download(done.candidateVideo)]);
    for (const file of files) {
      const probe = await probeFile(file);
      const video = await probePackets(file, 'v:0');
      const audio = await probePackets(file, 'a:0');
      const offset = probe.video!.startTime! - probe.audio!.startTime!;
      console.log(
        `Firefox ${path.basename(file)}: ${probe.durationSeconds} s, ${probe.video?.width}×${probe.video?.height} ${probe.video?.codecName}, ` +
          `${video.length} video packets (longest step ${largestPtsStep(video).toFixed(3)} s), ${audio.length} audio packets (longest step ${largestPtsStep(audio).toFixed(3)} s), A/V start offset ${(offset * 1000).toFixed(0)} ms`,
      );
      // Frozen: time covered by video steps over 200 ms (a frame shown that long), as a share.
      const frozen = video.slice(1).reduce((sum, packet, index) => {
        const step = packet.ptsTime - video[index]!.ptsTime;
        return step > 0.2 ? sum + step : sum;
      }, 0);
      const holes = audio.slice(1).flatMap((packet, index) => (packet.ptsTime - audio[index]!.ptsTime > 0.06 ? [`${audio[index]!.ptsTime.toFixed(2)} s +${(packet.ptsTime - audio[index]!.ptsTime).toFixed(3)}`] : []));
      console.log(`  frozen ${((100 * frozen) / probe.durationSeconds!).toFixed(1)} %; audio steps over 60 ms: ${holes.join(', ') || 'none'}`);
      expect(probe.video?.codecName).toBe('vp9');
      expect(probe.audio?.codecName).toBe('opus');
      expect(Math.abs(probe.durationSeconds! - DURATION_SECONDS)).toBeLessThanOrEqual(1.5);
      expect(Math.abs(offset)).toBeLessThan(0.1);
      expect(await hasCues(file)).toBe(true);
      expect(await decodeErrors(file)).toEqual([]);
      expect(await decodeErrors(file, 'a:0')).toEqual([]);
      // Audio without real holes: Opus frames are 20 ms apart; alone 29–58 ms, on two shared cores
      // up to ~150 ms, and 315 ms once with two other suites running beside this one (loopback, no
      // loss): the bound leaves room for that, and a lost second would still fail it.
      expect(largestPtsStep(audio)).toBeLessThan(0.5);
      expect(audio.length).toBeGreaterThan(0.97 * 50 * probe.durationSeconds!);
    }
    const screenFile = await probeFile(files[0]!);
    expect([screenFile.video?.width, screenFile.video?.height]).toEqual([XVFB_SCREEN.width, XVFB_SCREEN.height]);
    const [screenAudio = [], candidateAudio = []] = await Promise.all(files.map(audioPacketHashes));
    expect(screenAudio.length).toBeGreaterThan(DURATION_SECONDS * 40);
    expect(sharedAudioRun(screenAudio, candidateAudio)).toBeGreaterThan(0.98 * Math.min(screenAudio.length, candidateAudio.length));
  });
});
