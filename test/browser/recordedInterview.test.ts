import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeErrors, hasCues, probeFile, probePackets } from '../support/ffprobe.ts';
import { launchBrowser, buildClient, pageErrors, type TestBrowser } from '../support/browser.ts';
import { audioPacketHashes, sharedAudioRun, download, waitForStatus, type InterviewView } from '../support/recordedInterview.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';

const DURATION_SECONDS = 20;


describe('a real candidate recorded until the server timer ends the interview', () => {
  let ts: TestService;
  let candidateBrowser: TestBrowser;
  let reviewerBrowser: TestBrowser;
  let interview: CreatedInterview;
  let done: InterviewView;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    [candidateBrowser, reviewerBrowser] = await Promise.all([launchBrowser(), launchBrowser()]);
    interview = await ts.createInterview({ candidateName: 'Grace', durationSeconds: DURATION_SECONDS });
  });

  afterAll(async () => {
    await Promise.all([candidateBrowser?.close(), reviewerBrowser?.close()]);
    await ts?.close();
  });

  it('lands the candidate on the end page, which shows the upload and then plays both recordings', async () => {
    const page = await candidateBrowser.newPage();
    const errors = pageErrors(page);
    await page.goto(interview.candidateUrl);
    const start = page.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled(), { timeout: 10_000 }).toBe(true);
    await start.click();
    await waitForStatus(ts, interview.id, 'live', 20_000);

    // The server's timer, not the page, ends it; the page is sent to the end page.
    await page.waitForURL((url) => url.pathname === `/interview/end/${interview.id}`, { timeout: (DURATION_SECONDS + 15) * 1000 });
    done = await waitForStatus(ts, interview.id, 'completed', 60_000);
    expect(Date.parse(done.completedAt!) - Date.parse(done.endsAt!)).toBeLessThan(1500);

    // The end page takes both URLs from the server (never from its own address) and plays them.
    await expect.poll(() => page.locator('#recordings').isVisible(), { timeout: 20_000 }).toBe(true);
    expect(await page.locator('#state-screen').textContent()).toContain('saved');
    for (const id of ['screen-video', 'candidate-video']) {
      // Signed forms of the stored URLs: the stored URL itself, with an expiry and a signature.
      const src = (await page.locator(`#${id}`).getAttribute('src')) ?? '';
      expect([done.screenVideo, done.candidateVideo]).toContain(src.split('?')[0]);
      expect(src).toMatch(/\?expires=\d+&signature=[\w-]{43}$/);
      await page.locator(`#${id}`).evaluate((video: HTMLVideoElement) => {
        video.muted = true; // headless autoplay policy; the audio track is checked below
        return video.play();
      });
      await expect
        .poll(() => page.locator(`#${id}`).evaluate((video: HTMLVideoElement) => video.videoWidth > 0 && video.currentTime > 0.5), { timeout: 15_000 })
        .toBe(true);
      const duration = await page.locator(`#${id}`).evaluate((video: HTMLVideoElement) => video.duration);
      expect(duration).toBeGreaterThan(DURATION_SECONDS - 1.5);
    }
    await expect
      .poll(() => page.locator('#screen-video').evaluate((video: HTMLVideoElement) => (video as HTMLVideoElement & { webkitAudioDecodedByteCount: number }).webkitAudioDecodedByteCount), { timeout: 10_000 })
      .toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('stores two VP9 + Opus WebM files of the interview length, seekable, with the same audio', async () => {
    const files = await Promise.all([download(done.screenVideo), download(done.candidateVideo)]);
    for (const file of files) {
      const probe = await probeFile(file);
      console.log(`${path.basename(file)}: ${probe.durationSeconds} s, video from ${probe.video?.startTime} s, audio from ${probe.audio?.startTime} s`);
      expect(probe.video?.codecName).toBe('vp9');
      expect(probe.audio?.codecName).toBe('opus');
      expect(Math.abs(probe.durationSeconds! - DURATION_SECONDS)).toBeLessThanOrEqual(1.5);
      expect(Math.abs(probe.video!.startTime! - probe.audio!.startTime!)).toBeLessThan(0.1);
      expect(await hasCues(file)).toBe(true);
      // Key frames are requested every 2 s (Chromium sends none by itself): seek points that often.
      const keyTimes = (await probePackets(file, 'v:0')).filter((packet) => packet.keyFrame).map((packet) => packet.ptsTime);
      const keyGaps = keyTimes.slice(1).map((time, index) => time - keyTimes[index]!);
      console.log(`${path.basename(file)}: ${keyTimes.length} key frames, largest interval ${Math.max(...keyGaps).toFixed(2)} s`);
      expect(keyTimes.length).toBeGreaterThanOrEqual(DURATION_SECONDS / 2 - 1);
      // Measured 2.00–2.15 s in 3 runs (a request answered a frame or a few late under load).
      expect(Math.max(...keyGaps)).toBeLessThan(3);
      // Chromium's camera VP9 is flexible-mode: the relay's rewrite must leave it decodable.
      expect(await decodeErrors(file)).toEqual([]);
    }
    const [screenAudio = [], candidateAudio = []] = await Promise.all(files.map(audioPacketHashes));
    const shared = sharedAudioRun(screenAudio, candidateAudio);
    console.log(`audio packets: screen.webm ${screenAudio.length}, candidate.webm ${candidateAudio.length}, the same run ${shared}`);
    expect(screenAudio.length).toBeGreaterThan(DURATION_SECONDS * 40);
    // One audio stream in both: the shorter file's audio lies whole, in one run, inside the other's.
    // Their ends may differ a little (seen once under heavy load: one file held ~1 s more at an end).
    expect(shared).toBeGreaterThan(0.98 * Math.min(screenAudio.length, candidateAudio.length));
    expect(Math.abs(screenAudio.length - candidateAudio.length)).toBeLessThanOrEqual(1.5 * 50);
  });

  it('plays both recordings side by side in sync on the review page', async () => {
    const page = await reviewerBrowser.newPage();
    const errors = pageErrors(page);
    await page.goto(`${ts.url}/review/${interview.id}#token=${interview.proctorToken}`);
    await expect.poll(() => page.locator('#player').isVisible(), { timeout: 15_000 }).toBe(true);
    await page.locator('#screen-video').evaluate((video: HTMLVideoElement) => (video.muted = true));
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await expect.poll(() => page.locator('#candidate-video').evaluate((video: HTMLVideoElement) => video.currentTime), { timeout: 10_000 }).toBeGreaterThan(2);
    // In sync within a few seconds of playing: a follower that started late is nudged back.
    const drift = () => page.evaluate(() => Math.abs((window as unknown as { reviewDrift: () => number }).reviewDrift()));
    await expect.poll(drift, { timeout: 5000, interval: 100 }).toBeLessThan(0.25);
    // And it stays in sync: the worst of 2 s of samples, not one good sample.
    const worstDrift = async (what: string) => {
      const samples = await page.evaluate(async () => {
        const values: number[] = [];
        const until = performance.now() + 2000;
        while (performance.now() < until) {
          values.push(Math.abs((window as unknown as { reviewDrift: () => number }).reviewDrift()));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return values;
      });
      const worst = Math.max(...samples);
      console.log(`review drift ${what}: max ${worst.toFixed(3)} s over ${samples.length} samples in 2 s`);
      return worst;
    };
    expect(await worstDrift('while playing')).toBeLessThan(0.25);

    // One seek bar drives both videos, forwards and backwards: both are at the target (±0.5 s),
    // done seeking, within 2 s. Playback alone never goes backwards, nor 8 s ahead in 2 s.
    const positions = () =>
      page.evaluate(() =>
        (['screen-video', 'candidate-video'] as const).map((id) => {
          const video = document.getElementById(id) as HTMLVideoElement;
          return { time: video.currentTime, seeking: video.seeking };
        }),
      );
    for (const target of [14, 4]) {
      const from = await positions();
      expect(Math.abs(from[0]!.time - target), 'the seek target is far from where playback is').toBeGreaterThan(3);
      const seekAt = Date.now();
      await page.locator('#seek').evaluate((input: HTMLInputElement, value) => {
        input.value = String(value);
        input.dispatchEvent(new Event('input'));
      }, target);
      await expect
        .poll(async () => (await positions()).every((video) => !video.seeking && Math.abs(video.time - target) < 0.5), { timeout: 2000, interval: 50 })
        .toBe(true);
      console.log(`seek to ${target} s from ${from[0]!.time.toFixed(2)} s: both videos there in ${Date.now() - seekAt} ms`);
      // Still playing after the seek, and in sync from there.
      expect(await worstDrift(`after seeking to ${target} s`)).toBeLessThan(0.25);
      const after = await positions();
      expect(after.every((video) => video.time > target + 1)).toBe(true);
    }
    expect(errors).toEqual([]);
  });
});
