// A candidate whose browser blocks the camera and microphone for the site (as after a "Block"
// click): Chromium with real permission prompts (headful under Xvfb: the fake UI would grant
// everything), its screen picker choosing the entire screen by itself. The page says how to lift
// the block in this browser, waits for the candidate, and recovers with Try again once allowed.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, launchBrowser, setSitePermission, type TestBrowser } from '../support/browser.ts';
import { pictureCandidateState } from '../support/candidateScreenshots.ts';
import { startXvfb } from '../support/firefox.ts';
import { startTestService, type TestService } from '../support/testService.ts';

describe('a candidate whose browser blocks the camera and microphone', () => {
  let ts: TestService;
  let xvfb: { process: ChildProcess; display: string };
  let browser: TestBrowser;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService({ CANDIDATE_DASHBOARD_URL: 'https://jobs.example/dashboard' });
    xvfb = await startXvfb();
    browser = await launchBrowser({ realPrompts: { display: xvfb.display } });
  });

  afterAll(async () => {
    await browser?.close();
    xvfb?.process.kill('SIGKILL');
    await ts?.close();
  });

  it('gets the unblock instructions, stays, and goes live with Try again once they are allowed', async () => {
    const interview = await ts.createInterview();
    const page = await browser.newPage();
    // Counts the screen prompts (the real call goes through).
    await page.addInitScript(() => {
      const original = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
      Object.assign(window, { screenPrompts: 0 });
      navigator.mediaDevices.getDisplayMedia = (options) => {
        (window as unknown as { screenPrompts: number }).screenPrompts++;
        return original(options);
      };
    });
    const origin = new URL(ts.url).origin;
    await page.goto(interview.candidateUrl);
    for (const device of ['camera', 'microphone'] as const) await setSitePermission(page, origin, device, 'denied');
    const start = page.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled(), { timeout: 15_000 }).toBe(true);
    await start.click();

    await expect.poll(() => page.locator('#message').textContent(), { timeout: 15_000 }).toBe(
      'Permission to use your camera and microphone was refused. The interview needs your screen, camera and microphone.',
    );
    expect(await page.locator('#support-code').textContent()).toBe('Code for support: permission_denied');
    expect(await page.locator('#blocked-how').textContent()).toBe(
      'Click the camera icon (or the site settings icon) at the left of the address bar, choose “Allow” for your camera and microphone, then press Try again.',
    );
    // Linux: no system privacy switch to mention.
    expect(await page.locator('#blocked-os').isHidden()).toBe(true);
    const leave = page.getByRole('link', { name: 'Leave and go back to your dashboard' });
    expect(await leave.getAttribute('href')).toBe('https://jobs.example/dashboard');
    expect(ts.service.sessions.get(interview.id)?.room?.tracks ?? []).toEqual([]);
    await pictureCandidateState(page, 'blocked');

    // The candidate allows them in the site settings and presses Try again (by keyboard: it has focus).
    for (const device of ['camera', 'microphone'] as const) await setSitePermission(page, origin, device, 'granted');
    const tryAgain = page.getByRole('button', { name: 'Try again' });
    await expect.poll(() => tryAgain.evaluate((button) => button === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#recording').textContent(), { timeout: 20_000 }).toBe('Recording');
    expect(await page.locator('#blocked').isHidden()).toBe(true);
    expect(ts.service.sessions.get(interview.id)?.room?.tracks.slice().sort()).toEqual(['audio', 'camera', 'screen']);
    // The screen shared before the refusal was kept: the candidate was not asked for it again.
    expect(await page.evaluate(() => (window as unknown as { screenPrompts: number }).screenPrompts)).toBe(1);
  });
});
