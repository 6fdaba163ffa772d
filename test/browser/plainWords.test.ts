// What a candidate or proctor reads is plain words: the rendered pages, in the states a candidate
// meets, show no internal code, stored status or machinery name outside the small print (where a
// refusal's code is kept for support).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { INTERNAL_WORDS } from '../support/internalWords.ts';
import { waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { startTestService, type TestService } from '../support/testService.ts';

/** The page's visible text, without the small print. */
function visibleWords(page: Page): Promise<string> {
  return page.evaluate(() => {
    const body = document.body.cloneNode(true) as HTMLElement;
    for (const small of body.querySelectorAll('.support-code')) small.remove();
    // innerText of a detached clone ignores CSS: drop what the page hides itself.
    for (const hidden of body.querySelectorAll('[hidden]')) hidden.remove();
    return body.innerText || body.textContent || '';
  });
}

describe('the pages speak plain words', () => {
  let ts: TestService;
  let browser: TestBrowser;
  let tabSharer: TestBrowser;
  const seen: Array<{ state: string; text: string }> = [];

  async function check(state: string, page: Page): Promise<void> {
    const text = await visibleWords(page);
    seen.push({ state, text });
    expect(text, `${state}: ${text}`).not.toMatch(INTERNAL_WORDS);
  }

  beforeAll(async () => {
    buildClient();
    ts = await startTestService({ CANDIDATE_DASHBOARD_URL: 'https://jobs.example/dashboard' });
    [browser, tabSharer] = await Promise.all([launchBrowser(), launchBrowser({ displaySurface: 'browser' })]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), tabSharer?.close()]);
    await ts?.close();
  });

  it('on the candidate page before Start, after a wrong share, when blocked, live, replaced; on the proctor, end, review and admin pages', async () => {
    const interview = await ts.createInterview({ candidateName: 'Grace', durationSeconds: 60 });
    const wrong = await tabSharer.newPage();
    await wrong.goto(interview.candidateUrl);
    const wrongStart = wrong.getByRole('button', { name: /Start/ });
    await expect.poll(() => wrongStart.isEnabled(), { timeout: 15_000 }).toBe(true);
    await check('ready', wrong);
    await wrongStart.click();
    await expect.poll(() => wrong.locator('#support-code').textContent(), { timeout: 15_000 }).toBe('Code for support: not_entire_screen');
    await check('wrong share', wrong);

    const blocked = await browser.newPage();
    await blocked.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = async () => {
        throw new DOMException('Permission denied', 'NotAllowedError');
      };
    });
    await blocked.goto(interview.candidateUrl);
    await expect.poll(() => wrong.locator('#support-code').textContent(), { timeout: 15_000 }).toBe('Code for support: session_replaced');
    await check('replaced by another tab', wrong);
    const blockedStart = blocked.getByRole('button', { name: /Start/ });
    await expect.poll(() => blockedStart.isEnabled(), { timeout: 15_000 }).toBe(true);
    await blockedStart.click();
    await expect.poll(() => blocked.locator('#blocked').isVisible(), { timeout: 15_000 }).toBe(true);
    await check('blocked', blocked);

    const live = await browser.newPage();
    await live.goto(interview.candidateUrl);
    const start = live.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled(), { timeout: 15_000 }).toBe(true);
    await start.click();
    await expect.poll(() => live.locator('#recording').textContent(), { timeout: 20_000 }).toBe('Recording');
    await check('live', live);
    const proctor = await browser.newPage();
    await proctor.goto(interview.proctorUrl);
    await expect.poll(() => proctor.locator('#status').textContent(), { timeout: 15_000 }).toMatch(/^Live/);
    // With what happened so far (the history from the join, then live).
    await expect.poll(() => proctor.locator('#events li').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await check('proctor watching', proctor);

    await waitForRecordedBytes(ts, interview.id, 100_000);
    await ts.api('POST', `/api/interviews/${interview.id}/end`);
    await live.waitForURL((url) => url.pathname === `/interview/end/${interview.id}`, { timeout: 15_000 });
    await check('end page, saving', live);
    await waitForStatus(ts, interview.id, 'completed', 60_000);
    await expect.poll(() => live.locator('#recordings').isVisible(), { timeout: 20_000 }).toBe(true);
    await check('end page, saved', live);

    const review = await browser.newPage();
    await review.goto(`${ts.url}/review/${interview.id}#token=${interview.proctorToken}`);
    await expect.poll(() => review.locator('#player').isVisible(), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => review.locator('#timeline-filters label').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => review.locator('#filmstrip').isVisible(), { timeout: 30_000 }).toBe(true);
    await check('review page', review);
    const admin = await browser.newPage();
    await admin.goto(`${ts.url}/admin`);
    await admin.locator('#token').fill(ts.adminToken);
    await admin.keyboard.press('Enter');
    await expect.poll(() => admin.getByRole('button', { name: 'Review Grace' }).count(), { timeout: 10_000 }).toBe(1);
    await check('admin page, the list', admin);
    expect(seen.map((entry) => entry.state)).toHaveLength(10);
  });
});
