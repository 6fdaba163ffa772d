// Debian's Chromium driven by playwright-core, with fake devices: after a click,
// getDisplayMedia returns a fake monitor (with a fake audio track) and getUserMedia a fake camera
// and microphone. Every launch gets a fresh profile, deleted on close.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { waitFor } from './testConfig.ts';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchOptions {
  /**
   * What the fake screen picker shares: 'monitor' (default), or 'browser' / 'window' to act as a
   * candidate who shares a tab or a window (Chromium's display-media-type fake-device option).
   */
  displaySurface?: 'monitor' | 'browser' | 'window';
  args?: string[];
  /** Another Chromium binary or a wrapper of it (e.g. one that runs it on a host of its own). */
  executablePath?: string;
  /**
   * Real permission prompts instead of the fake UI (which grants everything, whatever the site's
   * settings say): Chromium runs headful on this X display, the camera and microphone follow the
   * site's permission (set with setSitePermission), and the screen picker picks the entire screen
   * by itself (a real capture of the X screen, `monitor`, without system audio).
   */
  realPrompts?: { display: string };
}

export interface TestBrowser {
  context: BrowserContext;
  newPage: () => Promise<Page>;
  close: () => Promise<void>;
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'interview-ingest-chromium-'));
  const fakeDevice = options.displaySurface && options.displaySurface !== 'monitor' ? `=display-media-type=${options.displaySurface}` : '';
  const prompts = options.realPrompts
    ? ['--auto-select-desktop-capture-source=Entire screen']
    : ['--use-fake-ui-for-media-stream'];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    headless: !options.realPrompts,
    ...(options.realPrompts ? { env: { ...process.env, DISPLAY: options.realPrompts.display } } : {}),
    args: [...BASE_ARGS, ...prompts, `--use-fake-device-for-media-stream${fakeDevice}`, ...(options.args ?? [])],
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Sets a site's camera or microphone permission, as the candidate would in the browser's site
 * settings. The CDP session stays attached: Chromium drops a session's permission overrides when
 * it detaches.
 */
export async function setSitePermission(page: Page, origin: string, name: 'camera' | 'microphone', setting: 'granted' | 'denied' | 'prompt'): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Browser.setPermission', { permission: { name }, setting, origin });
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export { CHROMIUM_PATH };

/** Builds the client bundles (a no-op when they are up to date). */
export function buildClient(): void {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-client.mjs')], { cwd: repoRoot, stdio: 'pipe' });
}

export interface ProctorScreenState {
  /** Frames the proctor's screen video has decoded so far. */
  frames: number;
  /** How many screen consumers the page has created (one more after each republish or rebuild). */
  consumers: number;
  width: number;
}

/** What a proctor page's screen video is showing, from the page itself. */
export async function proctorScreenState(page: Page): Promise<ProctorScreenState> {
  return page.evaluate(() => {
    const video = document.getElementById('screen') as HTMLVideoElement;
    return {
      frames: video.getVideoPlaybackQuality().totalVideoFrames,
      consumers: performance.getEntriesByName('consumer-created-screen').length,
      width: video.videoWidth,
    };
  });
}

/** Collects a page's console errors and uncaught exceptions, for failure messages. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** Opens a candidate link and presses Start once the page allows it; resolves with when it was pressed. */
export async function pressStart(page: Page, candidateUrl: string): Promise<number> {
  await page.goto(candidateUrl);
  const start = page.getByRole('button', { name: /Start/ });
  await waitFor(() => start.isEnabled(), { what: 'the Start button to be enabled' });
  const clicked = Date.now();
  await start.click();
  return clicked;
}
