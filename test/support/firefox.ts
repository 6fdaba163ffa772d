// Debian's Firefox ESR as a second real browser, driven by puppeteer-core over WebDriver BiDi
// (Debian has no geckodriver and Playwright cannot drive stock Firefox). Firefox's screen capture
// needs an X display — headless Firefox answers getDisplayMedia with NotFoundError — so every
// launch gets its own Xvfb, stopped by pid on close, and its own profile, deleted on close.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** The X screen Firefox captures: getDisplayMedia returns a track of this size ("Primary Monitor"). */
export const XVFB_SCREEN = { width: 1280, height: 800 };

/**
 * Measured on this machine (docs: environment.md, plus ICE loopback). `media.navigator.streams.fake` fakes the
 * camera and microphone but not the screen; `permission.disabled` removes the prompts, so
 * getDisplayMedia takes the whole X screen without a picker.
 */
const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'privacy.webrtc.hideGlobalIndicator': true,
  // The test service's media listens on 127.0.0.1; Firefox leaves loopback out of ICE by default
  // ("ICE failed" on every pair).
  'media.peerconnection.ice.loopback': true,
  // (A page without camera permission — a proctor's — still pairs no loopback server candidate
  // whatever the prefs: its tests serve media on this host's own IPv4, see firefoxProctor.test.ts.)
  // Not set: 'media.cubeb.force_mock_context' (without a sound device AudioContext.resume() never
  // settles unless cubeb runs a mock context). The mock also drives the fake microphone, and
  // measured here it drops 0.3–0.5 s of audio every ~5 s; the candidate page needs no
  // AudioContext in Firefox (there is no system audio to mix), so the tests run like a machine
  // without a sound device. A test may pass it in `prefs`.
  // Keep a test browser off the network: no update, telemetry or suggestion traffic.
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.search.update': false,
  'network.captive-portal-service.enabled': false,
};

export interface FirefoxOptions {
  /** Prefs to add or override (a value of undefined removes one of FIREFOX_PREFS). */
  prefs?: Record<string, unknown>;
}

export interface TestFirefox {
  browser: Browser;
  /** The X display Firefox runs on, e.g. ":3". */
  display: string;
  newPage: () => Promise<Page>;
  close: () => Promise<void>;
}

/** Xvfb on a display it picks itself (-displayfd): no guessing a number another run may hold. */
export async function startXvfb(): Promise<{ process: ChildProcess; display: string }> {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${XVFB_SCREEN.width}x${XVFB_SCREEN.height}x24`, '-nolisten', 'tcp', '-noreset'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  xvfb.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const display = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      xvfb.kill('SIGKILL');
      reject(new Error(`Xvfb did not report a display within 10 s: ${stderr}`));
    }, 10_000);
    let out = '';
    (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // It writes the display number and a newline once the server accepts connections.
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${out.trim()}`);
      }
    });
    xvfb.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}) before it was ready: ${stderr}`));
    });
  });
  return { process: xvfb, display };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export async function launchFirefox(options: FirefoxOptions = {}): Promise<TestFirefox> {
  const xvfb = await startXvfb();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'interview-ingest-firefox-'));
  const prefs: Record<string, unknown> = { ...FIREFOX_PREFS };
  for (const [name, value] of Object.entries(options.prefs ?? {})) {
    if (value === undefined) delete prefs[name];
    else prefs[name] = value;
  }
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      // A real (virtual) display: screen capture does not work headless.
      headless: false,
      userDataDir: profile,
      extraPrefsFirefox: prefs,
      env: { ...process.env, DISPLAY: xvfb.display, MOZ_CRASHREPORTER_DISABLE: '1' },
      timeout: 60_000,
    });
  } catch (error) {
    await stopProcess(xvfb.process);
    fs.rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    browser,
    display: xvfb.display,
    newPage: () => browser.newPage(),
    async close() {
      const firefox = browser.process();
      await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]).catch(() => undefined);
      // A browser that did not quit in time is stopped by its pid.
      if (firefox && firefox.exitCode === null && firefox.signalCode === null) firefox.kill('SIGKILL');
      await stopProcess(xvfb.process);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects a Firefox page's console errors and uncaught exceptions, for failure messages. */
export function firefoxPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error instanceof Error ? error.message : String(error)));
  return errors;
}
