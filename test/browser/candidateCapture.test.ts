import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { buildClient, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

// Keeps every stream getDisplayMedia returns (the real one, from Chromium's fake picker) so the
// test can check that the page stopped a refused share.
const recordDisplayStreams = () => {
  const original = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
  const streams: MediaStream[] = [];
  const surfaces: Array<string | undefined> = [];
  Object.assign(window, { displayStreams: streams, displaySurfaces: surfaces });
  navigator.mediaDevices.getDisplayMedia = async (options) => {
    const stream = await original(options);
    streams.push(stream);
    // Read now: a stopped track no longer reports its surface.
    surfaces.push((stream.getVideoTracks()[0]?.getSettings() as { displaySurface?: string } | undefined)?.displaySurface);
    return stream;
  };
};

async function openCandidatePage(browser: TestBrowser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript(recordDisplayStreams);
  await page.goto(url);
  await expect.poll(() => page.getByRole('button', { name: /Start/ }).isEnabled(), { timeout: 10_000 }).toBe(true);
  return page;
}

describe('the candidate page captures only the entire screen, camera and microphone', () => {
  let ts: TestService;
  const browsers: TestBrowser[] = [];

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
  });

  afterAll(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
    await ts?.close();
  });

  for (const surface of ['browser', 'window'] as const) {
    it(`refuses a ${surface === 'browser' ? 'tab' : 'window'} share, stops it, explains why and asks again`, async () => {
      const interview = await ts.createInterview();
      const browser = await launchBrowser({ displaySurface: surface });
      browsers.push(browser);
      const page = await openCandidatePage(browser, interview.candidateUrl);
      await page.getByRole('button', { name: /Start/ }).click();

      await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe(
        `You shared ${surface === 'browser' ? 'a browser tab' : 'a window'}, not your entire screen. In Chrome’s sharing dialog, open the “Entire screen” tab, click your screen and press “Share”.`,
      );
      const shares = await page.evaluate(() =>
        (window as unknown as { displayStreams: MediaStream[]; displaySurfaces: string[] }).displayStreams.map((stream, index) => ({
          surface: (window as unknown as { displaySurfaces: string[] }).displaySurfaces[index],
          states: stream.getTracks().map((track) => track.readyState),
        })),
      );
      // The share really was a tab/window (not a stub), and every track of it was stopped.
      expect(shares).toEqual([{ surface, states: expect.arrayContaining(['ended']) }]);
      expect(shares[0]!.states.every((state) => state === 'ended')).toBe(true);
      const again = page.getByRole('button', { name: /Start/ });
      await expect.poll(() => again.isEnabled()).toBe(true);
      expect(await again.textContent()).toBe('Start again and share your entire screen');
      // Nothing was published: the camera is not even asked for before the screen is right.
      expect(ts.service.sessions.get(interview.id)?.room?.tracks ?? []).toEqual([]);
    });
  }

  it('sends the microphone alone when the screen share has no system audio, and says so', async () => {
    const interview = await ts.createInterview();
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await browser.newPage();
    // A share without sound, as when the candidate leaves "share system audio" unticked.
    await page.addInitScript(() => {
      const original = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getDisplayMedia = async (options) => {
        const stream = await original(options);
        for (const track of stream.getAudioTracks()) {
          track.stop();
          stream.removeTrack(track);
        }
        return stream;
      };
    });
    await page.goto(interview.candidateUrl);
    const start = page.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled(), { timeout: 10_000 }).toBe(true);
    await start.click();
    await expect.poll(() => page.locator('#audio-note').textContent(), { timeout: 10_000 }).toBe(
      'Your screen share has no computer sound: only your microphone is sent.',
    );
    await waitFor(async () => {
      const producer = ts.service.sessions.get(interview.id)?.room?.getProducer('audio');
      return producer && (await producer.getStats()).some((stat) => stat.packetCount > 0);
    }, { timeoutMs: 15_000, what: 'the microphone-only audio producer to receive RTP' });
  });

  it('sends the microphone unmixed within seconds, and says so, when the audio mixer never starts', async () => {
    const interview = await ts.createInterview();
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await browser.newPage();
    // What Firefox does on a machine without a sound device: resume() never settles and the
    // context stays suspended. (Chromium's share has system audio, so the page needs the mixer.)
    await page.addInitScript(() => {
      Object.defineProperty(AudioContext.prototype, 'state', { get: () => 'suspended' });
      AudioContext.prototype.resume = () => new Promise<void>(() => undefined);
    });
    await page.goto(interview.candidateUrl);
    const start = page.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled(), { timeout: 10_000 }).toBe(true);
    await start.click();
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 3000 }).toBe('Starting your audio…');
    await expect.poll(() => page.locator('#audio-note').textContent(), { timeout: 10_000 }).toBe(
      'Your browser could not start mixing sounds in time: only your microphone is sent, without your computer’s sound.',
    );
    expect(await page.locator('#message').textContent()).toBe('You are sharing your screen, camera and microphone.');
    await waitFor(async () => {
      const producer = ts.service.sessions.get(interview.id)?.room?.getProducer('audio');
      return producer && (await producer.getStats()).some((stat) => stat.packetCount > 50);
    }, { timeoutMs: 15_000, what: 'RTP on the unmixed microphone producer' });
  });

  it('re-publishes the screen as a new generation when the candidate stops sharing and shares again', async () => {
    const interview = await ts.createInterview();
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await openCandidatePage(browser, interview.candidateUrl);
    await page.getByRole('button', { name: /Start/ }).click();
    const room = await waitFor(() => {
      const open = ts.service.sessions.get(interview.id)?.room;
      return open && open.tracks.length === 3 ? open : null;
    }, { timeoutMs: 15_000, what: 'three producers' });
    const first = room.getProducer('screen')!;
    // Chromium says what was shared (displaySurface): the interview keeps it as a verified monitor.
    expect(first.appData.screenSource).toEqual({ verdict: 'monitor', evidence: 'chromium: the browser reported a monitor (displaySurface)' });
    const { body: view } = await ts.api<{ screenSource: unknown }>('GET', `/api/interviews/${interview.id}`);
    expect(view.screenSource).toEqual(first.appData.screenSource);
    const closed: string[] = [];
    room.on('producerClosed', (track, producer) => closed.push(`${track}:${producer.appData.generation}`));

    // What Chromium's "Stop sharing" bar does: the track ends.
    await page.evaluate(() => {
      const track = (window as unknown as { displayStreams: MediaStream[] }).displayStreams[0]!.getVideoTracks()[0]!;
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    await expect.poll(() => closed, { timeout: 5000 }).toEqual([`screen:${first.appData.generation}`]);
    await expect.poll(() => page.locator('#message').textContent()).toBe('Screen sharing stopped. Please share your entire screen again to continue.');
    await page.getByRole('button', { name: 'Share your entire screen again' }).click();
    const second = await waitFor(() => {
      const producer = room.getProducer('screen');
      return producer && producer !== first ? producer : null;
    }, { timeoutMs: 10_000, what: 'a new screen producer' });
    expect(second.appData.generation).toBeGreaterThan(first.appData.generation);
    await waitFor(async () => (await second.getStats()).some((stat) => stat.packetCount > 0), { timeoutMs: 10_000, what: 'RTP on the new screen producer' });
    // Camera and audio kept going untouched.
    expect(closed).toEqual([`screen:${first.appData.generation}`]);
  });

  it('lets go of what the browser grants after another tab has taken the interview over', async () => {
    const interview = await ts.createInterview();
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await browser.newPage();
    // The screen picker stays open until the test answers it; every track handed out is kept.
    await page.addInitScript(() => {
      const captured: MediaStreamTrack[] = [];
      let answer!: () => void;
      const answered = new Promise<void>((resolve) => (answer = resolve));
      Object.assign(window, { capturedTracks: captured, answerScreenPicker: answer });
      const display = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
      const user = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getDisplayMedia = async (options) => {
        await answered;
        const stream = await display(options);
        captured.push(...stream.getTracks());
        return stream;
      };
      navigator.mediaDevices.getUserMedia = async (constraints) => {
        const stream = await user(constraints);
        captured.push(...stream.getTracks());
        return stream;
      };
    });
    await page.goto(interview.candidateUrl);
    const start = page.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled()).toBe(true);
    await start.click();

    // The same link opened in another tab takes over while the first is still asking.
    const other = await browser.newPage();
    await other.goto(interview.candidateUrl);
    await expect.poll(() => page.locator('#message').textContent()).toBe('This interview was opened in another tab or window, so this one has stopped.');
    await page.evaluate(() => (window as unknown as { answerScreenPicker: () => void }).answerScreenPicker());
    const capturedStates = () => page.evaluate(() => (window as unknown as { capturedTracks: MediaStreamTrack[] }).capturedTracks.map((track) => track.readyState));
    await expect.poll(capturedStates).not.toEqual([]);
    await expect.poll(async () => (await capturedStates()).every((state) => state === 'ended')).toBe(true);
  });

  it('explains a refused permission, how to lift it, and leaves for the dashboard only when the candidate chooses to', async () => {
    const interview = await ts.createInterview();
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await browser.newPage();
    // What Chromium answers when the candidate clicks "Cancel" in the picker.
    await page.addInitScript(() => {
      navigator.mediaDevices.getDisplayMedia = async () => {
        throw new DOMException('Permission denied', 'NotAllowedError');
      };
    });
    await page.goto(interview.candidateUrl);
    const start = page.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled(), { timeout: 10_000 }).toBe(true);
    await start.click();
    await expect.poll(() => page.locator('#message').textContent()).toBe('Permission to use your screen was refused. The interview needs your screen, camera and microphone.');
    expect(await page.locator('#support-code').textContent()).toBe('Code for support: permission_denied');
    await expect.poll(() => page.getByRole('button', { name: 'Try again' }).isVisible()).toBe(true);
    expect(await page.locator('#blocked-how').textContent()).toMatch(/choose your entire screen/);
    // Nothing happens by itself: the page stays until the candidate chooses.
    const leave = page.getByRole('link', { name: 'Leave and go back to your dashboard' });
    await expect.poll(() => leave.isVisible()).toBe(true);
    expect(new URL(page.url()).pathname).toBe(`/interview/${interview.id}`);
    await leave.click();
    await page.waitForURL(`${ts.url}/`, { timeout: 10_000 });
  });
});
