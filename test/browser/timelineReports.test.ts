// How the SDK sends the timeline's reports, with the real service: one made before the page has
// joined waits in the SDK's small queue and is sent once joined; a flood is bounded in the page
// (50 kept, the oldest dropped; 4 in flight) so it never crowds the connection's other requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../shared/timeline.ts';
import { buildClient, launchBrowser, pageErrors, type TestBrowser } from '../support/browser.ts';
import { waitForStatus } from '../support/recordedInterview.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const FLOOD = 120;

describe('the SDK’s timeline reports', () => {
  let ts: TestService;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });

  it('queues a report made before the join, then sends it; bounds a flood in the page and drops what the server refuses', async () => {
    const interview = await ts.createInterview({ candidateName: 'Grace', durationSeconds: 120 });
    const events = async () => (await ts.api<TimelineEvent[]>('GET', `/api/interviews/${interview.id}/events`)).body;
    const page = await browser.newPage();
    const errors = pageErrors(page);
    // A page of the service's own origin, with the SDK's script, as a host page would load it.
    await page.goto(`${ts.url}/admin`);
    await page.addScriptTag({ url: '/sdk/v1/interview-ingest.js' });
    const stateAtCopy = await page.evaluate(async (candidateUrl) => {
      const sdk = (window as unknown as { InterviewIngest: typeof import('../../client/sdk/index.ts') }).InterviewIngest;
      const session = sdk.join(candidateUrl);
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      session.on('timeline', (report) => seen.push(report.kind));
      const failures: string[] = [];
      (window as unknown as { errors: string[] }).errors = failures;
      session.on('error', (error) => failures.push(error.code));
      // The watchers start once the host's listeners can be attached (a microtask).
      await Promise.resolve();
      document.dispatchEvent(new Event('copy', { bubbles: true }));
      const state = session.state;
      await session.ready();
      return state;
    }, interview.candidateUrl);
    expect(stateAtCopy).toBe('connecting');
    await expect.poll(async () => (await events()).filter((event) => event.kind === 'copied').length, { timeout: 10_000 }).toBe(1);

    await page.evaluate((count) => {
      for (let index = 0; index < count; index++) document.dispatchEvent(new Event('copy', { bubbles: true }));
    }, FLOOD);
    expect(await page.evaluate(() => (window as unknown as { seen: string[] }).seen.length)).toBe(FLOOD + 1);
    // Once the SDK has sent what it kept, a later report is stored after them (one connection, in order).
    await expect.poll(async () => {
      await page.evaluate(() => document.dispatchEvent(new Event('paste', { bubbles: true })));
      return (await events()).some((event) => event.kind === 'pasted');
    }, { timeout: 15_000, interval: 500 }).toBe(true);
    const all = await events();
    const stored = all.filter((event) => event.kind === 'copied').length - 1;
    const dropped = all.find((event) => event.kind === 'events_dropped')?.details.count ?? 0;
    console.log(`flood of ${FLOOD} copies: ${stored} stored, ${dropped} refused by the server`);
    // The SDK keeps at most 50 waiting and 4 in flight: the rest of a burst never leaves the page,
    // and the server's own requests budget (16 in flight a connection) is never exceeded.
    expect(stored + Number(dropped)).toBeLessThanOrEqual(54);
    expect(stored).toBeGreaterThanOrEqual(40);
    expect(await page.evaluate(() => (window as unknown as { errors?: unknown[] }).errors ?? [])).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('reports nothing, and no error, for the tracks it stops itself as the session ends', async () => {
    const interview = await ts.createInterview({ candidateName: 'Grace', durationSeconds: 120 });
    const page = await browser.newPage();
    const errors = pageErrors(page);
    await page.goto(`${ts.url}/admin`);
    await page.addScriptTag({ url: '/sdk/v1/interview-ingest.js' });
    await page.evaluate((candidateUrl) => {
      const sdk = (window as unknown as { InterviewIngest: typeof import('../../client/sdk/index.ts') }).InterviewIngest;
      const session = sdk.join(candidateUrl);
      const heard: string[] = [];
      Object.assign(window, { session, heard });
      for (const name of ['error', 'gap', 'timeline'] as const) session.on(name, (value: unknown) => heard.push(`${name}:${(value as { code?: string; kind?: string; cause?: string }).code ?? (value as { kind?: string }).kind ?? (value as { cause?: string }).cause}`));
      const button = document.createElement('button');
      button.id = 'capture';
      button.textContent = 'Share';
      button.addEventListener('click', () => void session.capture());
      document.body.append(button);
    }, interview.candidateUrl);
    await page.locator('#capture').click();
    await waitForStatus(ts, interview.id, 'live', 20_000);
    await expect.poll(() => page.evaluate(() => (window as unknown as { session: { recording: boolean } }).session.recording), { timeout: 15_000 }).toBe(true);
    const heard = await page.evaluate(() => {
      const { session, heard } = window as unknown as { session: { leave: () => void }; heard: string[] };
      heard.length = 0;
      // The SDK captured these tracks itself: leaving stops them.
      session.leave();
      return heard;
    });
    expect(heard).toEqual([]);
    expect(errors).toEqual([]);
  });
});
