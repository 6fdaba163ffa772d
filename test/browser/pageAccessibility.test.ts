// The proctor, end, review and admin pages in each state a test can reach: axe-core finds no
// serious or critical violation (light and dark), every control is reached with Tab and shows a
// focus ring, and the state changes that matter are live regions. (The candidate page's states:
// candidateStates.test.ts.)
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { SCREENS, checkAccessibility, fitIn, hasVisibleFocus, keyboardControls, tabThrough } from '../support/accessibility.ts';
import { buildClient, launchBrowser, pageErrors, type TestBrowser } from '../support/browser.ts';
import { FaultyProxy } from '../support/faultyProxy.ts';
import { publishSynthetic, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir } from '../support/testConfig.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';

async function expectAccessible(page: Page, state: string): Promise<void> {
  const { blocking } = await checkAccessibility(page, state);
  expect(blocking, `axe-core: serious or critical violations on the ${state}`).toEqual([]);
}

/** Tab reaches every visible, enabled control of the page, and each shows a focus ring. */
async function expectKeyboardReachable(page: Page, state: string): Promise<void> {
  const controls = await keyboardControls(page);
  const stops = await tabThrough(page);
  expect(stops.map((stop) => stop.element).sort(), `Tab order on the ${state}`).toEqual([...controls].sort());
  const unmarked = stops.filter((stop) => !stop.element.startsWith('video') && !hasVisibleFocus(stop));
  expect(unmarked, `controls without a visible focus ring on the ${state}`).toEqual([]);
}

describe('the proctor, end, review and admin pages are accessible in each of their states', () => {
  let s3: EmbeddedS3Server;
  let store: FaultyProxy;
  let ts: TestService;
  let browser: TestBrowser;
  let interview: CreatedInterview;
  let publisher: SyntheticPublisher | undefined;

  beforeAll(async () => {
    buildClient();
    // The object store sits behind a proxy that can refuse uploads: the end page's "saving" state
    // lasts until the test lets them through.
    s3 = await EmbeddedS3Server.start({ directory: tempDir(), bucket: 'interviews' });
    store = await FaultyProxy.start(s3.endpoint, { failFirst: 0 });
    ts = await startTestService({
      S3_ENDPOINT: store.url,
      S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
      S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
    });
    browser = await launchBrowser();
    interview = await ts.createInterview({ candidateName: 'Grace', durationSeconds: 600 });
  });

  afterAll(async () => {
    if (store) store.failFirst = store.refused;
    await publisher?.close();
    await browser?.close();
    await ts?.close();
    await store?.close();
    await s3?.close();
  });

  let proctor: Page;
  let proctorErrors: string[];

  it('proctor page, waiting for the candidate', async () => {
    proctor = await browser.newPage();
    proctorErrors = pageErrors(proctor);
    await proctor.goto(interview.proctorUrl);
    await expect.poll(() => proctor.locator('#status').textContent()).toBe('Waiting for the candidate; candidate not publishing yet');
    // The interview's status is a live region: a proctor using a screen reader hears it go live.
    expect(await proctor.getByRole('status').filter({ hasText: /^Waiting for the candidate/ }).count()).toBe(1);
    await expect.poll(() => proctor.getByRole('button', { name: 'End interview' }).isEnabled()).toBe(true);
    await expectAccessible(proctor, 'proctor page, waiting');
    await expectKeyboardReachable(proctor, 'proctor page, waiting');
  });

  it('proctor page, live: then ends the interview from the keyboard alone', async () => {
    publisher = await publishSynthetic(ts, interview.id);
    await expect.poll(() => proctor.locator('#status').textContent(), { timeout: 20_000 }).toBe('Live; candidate publishing screen, camera and audio');
    await expect.poll(() => proctor.locator('#quality').getAttribute('data-verdict'), { timeout: 15_000 }).not.toBeNull();
    await expectAccessible(proctor, 'proctor page, live');
    await expectKeyboardReachable(proctor, 'proctor page, live');
    // Both videos, the time left and End interview without scrolling, from a laptop to a 4K screen.
    for (const screen of [SCREENS.laptop, SCREENS.uhd]) {
      expect(await fitIn(proctor, screen, ['screen', 'camera', 'time-left', 'end']), `${screen.width}×${screen.height}`).toMatchObject({ scrollsSideways: false, belowTheFold: [] });
    }
    await proctor.setViewportSize(SCREENS.laptop);
    // Something recorded, so the end and review pages have recordings to save and show.
    await waitForRecordedBytes(ts, interview.id, 100_000);

    // Uploads are refused from now on: the end page stays in "saving".
    store.failFirst = Number.MAX_SAFE_INTEGER;
    await proctor.locator('#end').focus();
    await proctor.keyboard.press('Enter');
    // The confirmation takes focus, so Enter again confirms.
    await expect.poll(() => proctor.evaluate(() => document.activeElement?.id)).toBe('end-yes');
    await expectAccessible(proctor, 'proctor page, asking to confirm the end');
    await proctor.keyboard.press('Enter');
    await expect.poll(() => proctor.locator('#status').textContent()).toBe('Ended');
    await publisher.close();
    publisher = undefined;
    expect(proctorErrors).toEqual([]);
  });

  let end: Page;

  it('end page, saving the recordings', async () => {
    await waitForStatus(ts, interview.id, 'finalizing', 20_000);
    end = await browser.newPage();
    await end.goto(`${ts.url}/interview/end/${interview.id}#token=${interview.candidateToken}`);
    await expect.poll(() => end.getByRole('heading', { level: 1 }).textContent()).toBe('Your interview has finished');
    await expect.poll(() => end.locator('#status').textContent()).toMatch(/sav/i);
    await expect.poll(() => store.refused, { timeout: 20_000 }).toBeGreaterThan(0);
    expect((await ts.api<{ status: string }>('GET', `/api/interviews/${interview.id}`)).body.status).toBe('finalizing');
    await expectAccessible(end, 'end page, saving');
    await expectKeyboardReachable(end, 'end page, saving');
  });

  it('end page, saved: both recordings shown', async () => {
    store.failFirst = store.refused;
    await waitForStatus(ts, interview.id, 'completed', 90_000);
    await expect.poll(() => end.locator('#recordings').isVisible(), { timeout: 15_000 }).toBe(true);
    await expectAccessible(end, 'end page, saved');
    await expectKeyboardReachable(end, 'end page, saved');
  });

  it('review page: both recordings and one control, usable from the keyboard', async () => {
    const review = await browser.newPage();
    const errors = pageErrors(review);
    await review.goto(`${ts.url}/review/${interview.id}#token=${interview.proctorToken}`);
    await expect.poll(() => review.locator('#player').isVisible(), { timeout: 15_000 }).toBe(true);
    // With its timeline (the service's own events: live, ended) and the filmstrip, made after the save.
    await expect.poll(() => review.locator('.timeline-marker').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => review.locator('#filmstrip').isVisible(), { timeout: 30_000 }).toBe(true);
    await expectAccessible(review, 'review page');
    await expectKeyboardReachable(review, 'review page');
    // Play from the keyboard.
    await review.locator('#screen-video').evaluate((video: HTMLVideoElement) => (video.muted = true));
    await review.locator('#play').focus();
    await review.keyboard.press('Enter');
    await expect.poll(() => review.locator('#play').textContent()).toBe('Pause');
    await review.keyboard.press('Space');
    await expect.poll(() => review.locator('#play').textContent()).toBe('Play');
    expect(errors).toEqual([]);
  });

  it('admin page, asking for the token: entered and sent from the keyboard', async () => {
    const admin = await browser.newPage();
    await admin.goto(`${ts.url}/admin`);
    await expectAccessible(admin, 'admin page, token prompt');
    await expectKeyboardReachable(admin, 'admin page, token prompt');
    await admin.locator('#token').focus();
    await admin.keyboard.type(ts.adminToken);
    await admin.keyboard.press('Enter');
    await expect.poll(() => admin.getByRole('button', { name: 'Review Grace' }).count(), { timeout: 10_000 }).toBe(1);
    // A refused action is an alert; a done one a status.
    await admin.getByLabel('Candidate name').fill('Hedy');
    await admin.getByRole('button', { name: 'Create interview' }).click();
    await expect.poll(() => admin.getByRole('status').filter({ hasText: 'The interview with Hedy is created' }).count()).toBe(1);
    await expect.poll(() => admin.getByRole('button', { name: 'Watch Hedy' }).count()).toBe(1);
    await expectAccessible(admin, 'admin page, the list');
    await expectKeyboardReachable(admin, 'admin page, the list');
  });
});
