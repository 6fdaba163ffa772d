// The SDK's timeline watchers in a real Chromium, each event produced the real way where this
// browser can: a window that loses and gets back focus, a real Ctrl+C / Ctrl+V, full screen entered
// from a click and left, fake camera, microphone and screen tracks disabled, stopped and shared
// again, a camera switched between two fake devices, a real reload. Two cannot be produced here
// and are simulated in the page: a hidden tab (headless Chromium never reports one, see docs) and
// a second screen (no second display).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimelineReport } from '../../client/sdk/TimelineWatchers.ts';
import { launchBrowser, pageErrors, type TestBrowser } from '../support/browser.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const PAGE = `<!doctype html><html lang="en"><head><title>watchers</title><script src="/watchers.js"></script></head>
<body><input id="field" aria-label="field"><button id="full">Full screen</button><button id="share">Share</button></body></html>`;

/** The watchers report into sessionStorage, so what a page reports as it goes away is still read after. */
const START = `
window.watchers = new Timeline.TimelineWatchers((report) => {
  const all = JSON.parse(sessionStorage.getItem('reports') ?? '[]');
  all.push(report);
  sessionStorage.setItem('reports', JSON.stringify(all));
});
window.watchers.start();
document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('full').addEventListener('click', () => document.documentElement.requestFullscreen());
  document.getElementById('share').addEventListener('click', async () => {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
    window.screenTrack = stream.getVideoTracks()[0];
    window.watchers.track('screen', window.screenTrack);
  });
});`;

describe('the SDK’s timeline watchers, in Chromium', () => {
  let server: http.Server;
  let url: string;
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];

  const reports = (): Promise<TimelineReport[]> => page.evaluate(() => JSON.parse(sessionStorage.getItem('reports') ?? '[]') as TimelineReport[]);
  const clear = () => page.evaluate(() => sessionStorage.removeItem('reports'));
  /** What was reported; focus changes only where asked for (a late one from another case is no failure). */
  const kinds = async (withFocus = false) =>
    (await reports()).map((report) => report.kind).filter((kind) => withFocus || (kind !== 'window_blurred' && kind !== 'window_focused'));

  beforeAll(async () => {
    const bundle = await build({ entryPoints: [path.join(root, 'client/sdk/TimelineWatchers.ts')], bundle: true, format: 'iife', globalName: 'Timeline', target: 'chrome100', write: false });
    const script = bundle.outputFiles[0]!.text + START;
    server = http.createServer((request, response) => {
      const js = request.url === '/watchers.js';
      response.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
      response.end(js ? script : PAGE);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchBrowser();
    page = await browser.newPage();
    errors = pageErrors(page);
    await page.goto(url);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('reports the window losing focus to another page and getting it back (focus emulation off)', async () => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
    await clear();
    const other = await browser.newPage();
    await expect.poll(() => kinds(true), { timeout: 5000 }).toEqual(['window_blurred']);
    await page.bringToFront();
    await expect.poll(() => kinds(true), { timeout: 5000 }).toEqual(['window_blurred', 'window_focused']);
    await other.close();
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: true });
  });

  it('reports a real copy and paste in a text field, and where, never what', async () => {
    await clear();
    await page.locator('#field').click();
    await page.keyboard.type('secret answer 42');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Control+C');
    await page.keyboard.press('Control+V');
    await expect.poll(kinds, { timeout: 5000 }).toEqual(['copied', 'pasted']);
    const all = await reports();
    expect(all.filter((report) => report.kind === 'copied' || report.kind === 'pasted').map((report) => report.details)).toEqual([{ target: 'input' }, { target: 'input' }]);
    expect(JSON.stringify(all)).not.toContain('secret');
  });

  it('reports full screen left', async () => {
    await clear();
    // Counted after the watchers' own listener (added first): once it moved, they saw the entry.
    await page.evaluate(() => {
      (window as unknown as { fullscreenChanges: number }).fullscreenChanges = 0;
      document.addEventListener('fullscreenchange', () => (window as unknown as { fullscreenChanges: number }).fullscreenChanges++);
    });
    await page.locator('#full').click();
    // fullscreenElement is set before the change event is dispatched (on a later frame): leaving
    // in between, as a loaded machine once did, gives two events that both see no full screen.
    await expect.poll(() => page.evaluate(() => document.fullscreenElement !== null && (window as unknown as { fullscreenChanges: number }).fullscreenChanges >= 1), { timeout: 5000 }).toBe(true);
    await page.evaluate(() => document.exitFullscreen());
    // 15 s: seen not reported within 5 s once in a full suite's load.
    await expect.poll(kinds, { timeout: 15_000 }).toEqual(['fullscreen_exited']);
  });

  it('reports a camera and microphone disabled by the page at once, re-enabled and stopped; a new track of the same device is no switch', async () => {
    await clear();
    const delays = await page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      const [camera] = stream.getVideoTracks();
      const [microphone] = stream.getAudioTracks();
      const w = (window as unknown as { watchers: { track: (role: string, track: MediaStreamTrack) => void } }).watchers;
      w.track('camera', camera!);
      w.track('microphone', microphone!);
      const count = () => JSON.parse(sessionStorage.getItem('reports') ?? '[]').length as number;
      // Seen within the same task, not at the next poll: the hook fires as `enabled` is set.
      const timed = (action: () => void) => {
        const before = count();
        action();
        return count() - before;
      };
      const seen = [timed(() => (camera!.enabled = false)), timed(() => (camera!.enabled = true)), timed(() => (microphone!.enabled = false)), timed(() => microphone!.stop())];
      // A second camera track (Chromium's fake device is one device: the switch is told by deviceId).
      const again = await navigator.mediaDevices.getUserMedia({ video: true });
      w.track('camera', again.getVideoTracks()[0]!);
      return seen;
    });
    expect(delays).toEqual([1, 1, 1, 1]);
    expect((await reports()).filter((report) => !report.kind.startsWith('window_')).map(({ kind, details }) => ({ kind, details }))).toEqual([
      { kind: 'camera_muted', details: { by: 'page' } },
      { kind: 'camera_unmuted', details: { by: 'page' } },
      { kind: 'microphone_muted', details: { by: 'page' } },
      { kind: 'microphone_ended', details: {} },
    ]);
  });

  it('reports a camera switched to another device (Chromium’s fake devices, two of them), by its label', async () => {
    const twoCameras = await launchBrowser({ args: ['--use-fake-device-for-media-stream=device-count=2'] });
    try {
      const other = await twoCameras.newPage();
      await other.goto(url);
      const labels = await other.evaluate(async () => {
        const first = await navigator.mediaDevices.getUserMedia({ video: true });
        const devices = (await navigator.mediaDevices.enumerateDevices()).filter((device) => device.kind === 'videoinput');
        const [camera] = first.getVideoTracks();
        const w = (window as unknown as { watchers: { track: (role: string, track: MediaStreamTrack) => void } }).watchers;
        w.track('camera', camera!);
        const otherDevice = devices.find((device) => device.deviceId !== camera!.getSettings().deviceId)!;
        const second = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: otherDevice.deviceId } } });
        w.track('camera', second.getVideoTracks()[0]!);
        return { count: devices.length, label: otherDevice.label };
      });
      expect(labels.count).toBe(2);
      const switched = await other.evaluate(() => (JSON.parse(sessionStorage.getItem('reports') ?? '[]') as TimelineReport[]).filter((report) => report.kind === 'camera_switched'));
      expect(switched.map((report) => report.details)).toEqual([{ device: labels.label }]);
    } finally {
      await twoCameras.close();
    }
  });

  it('reports the screen share stopped, shared again, as it happens', async () => {
    await clear();
    await page.locator('#share').click();
    await expect.poll(() => page.evaluate(() => 'screenTrack' in window), { timeout: 5000 }).toBe(true);
    await page.evaluate(() => (window as unknown as { screenTrack: MediaStreamTrack }).screenTrack.stop());
    await expect.poll(kinds, { timeout: 200 }).toEqual(['screen_share_stopped']);
    await page.locator('#share').click();
    await expect.poll(kinds, { timeout: 5000 }).toEqual(['screen_share_stopped', 'screen_share_restarted']);
    expect((await reports()).find((report) => report.kind === 'screen_share_restarted')!.details).toEqual({ surface: 'monitor' });
  });

  it('reports a hidden and shown tab and a second screen (simulated in the page: headless Chromium has neither)', async () => {
    await clear();
    await page.evaluate(() => {
      let state: DocumentVisibilityState = 'hidden';
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
      document.dispatchEvent(new Event('visibilitychange'));
      state = 'visible';
      document.dispatchEvent(new Event('visibilitychange'));
      Object.defineProperty(screen, 'isExtended', { configurable: true, get: () => true });
      (screen as unknown as EventTarget).dispatchEvent(new Event('change'));
    });
    await expect.poll(kinds, { timeout: 5000 }).toEqual(['tab_hidden', 'tab_visible', 'second_screen_suspected']);
  });

  it('reports the page left, and reloaded on its next load', async () => {
    await clear();
    await page.reload();
    await expect.poll(kinds, { timeout: 5000 }).toEqual(['page_left', 'page_reloaded']);
    expect(errors).toEqual([]);
  });
});
