// The example host app (examples/host-app/) on its own origin, with real Chromium: its page holds
// the streams it asked for itself and publishes them through the SDK (and, on its legacy page,
// through the old recorder's names); its backend gets the URLs from the verified webhook.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostApp, type HostApp, type HostAppOptions } from '../../examples/host-app/HostApp.ts';
import { buildClient, launchBrowser, pageErrors, type TestBrowser } from '../support/browser.ts';
import { probeFile } from '../support/ffprobe.ts';
import { download, getInterview, waitForStatus } from '../support/recordedInterview.ts';
import { waitFor } from '../support/testConfig.ts';
import { TEST_ADMIN_TOKEN, startTestService, type TestService } from '../support/testService.ts';
import { webhookSecret } from '../support/webhookReceiver.ts';

const DURATION_SECONDS = 10;

describe('a host app on its own origin records interviews through the SDK', () => {
  let ts: TestService;
  let app: HostApp;
  let browser: TestBrowser;
  const options: HostAppOptions = { ingestUrl: '', adminToken: TEST_ADMIN_TOKEN, webhookSecret: webhookSecret() };

  beforeAll(async () => {
    buildClient();
    // The app listens first: the service must know its origin (EMBED_ORIGINS) and webhook URL.
    app = await startHostApp(options);
    ts = await startTestService({ EMBED_ORIGINS: app.url, WEBHOOK_URL: `${app.url}/webhooks/interview-ingest`, WEBHOOK_SECRET: options.webhookSecret });
    options.ingestUrl = ts.url;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
    await app?.close();
  });

  async function recordThrough(pagePath: string, hostId: string): Promise<void> {
    const record = await app.createInterview({ id: hostId, candidateName: 'Grace', durationSeconds: DURATION_SECONDS });
    expect(new URL(app.url).origin).not.toBe(new URL(ts.url).origin);
    const page = await browser.newPage();
    const errors = pageErrors(page);
    await page.goto(`${app.url}/interview/${hostId}/${pagePath}`);
    await page.locator('#start').click();
    await waitForStatus(ts, record.ingestId, 'live', 20_000);
    // The SDK's 'time' event (time left on the server's clock) reaches the SDK page's own clock.
    if (pagePath === '') await expect.poll(() => page.locator('#time-left').textContent(), { timeout: 5000 }).toMatch(/^\d+ s left$/);
    // The service's timer ends it; the candidate lands on the host's end page (the create's returnUrl).
    await page.waitForURL(`${app.url}/interview/end/${hostId}/`, { timeout: (DURATION_SECONDS + 20) * 1000 });
    const done = await waitForStatus(ts, record.ingestId, 'completed', 60_000);
    // The host's record got the URLs from the verified webhook, and its end page shows them.
    await waitFor(() => app.interviews.get(hostId)?.screenVideo, { timeoutMs: 30_000, what: 'the completed webhook on the host record' });
    expect(app.interviews.get(hostId)).toMatchObject({ status: 'completed', screenVideo: done.screenVideo, candidateVideo: done.candidateVideo });
    await expect.poll(() => page.locator('#screenVideo').getAttribute('href'), { timeout: 10_000 }).toBe(done.screenVideo);
    expect(app.rejectedWebhooks).toBe(0);
    for (const url of [done.screenVideo, done.candidateVideo]) {
      const probe = await probeFile(await download(url));
      expect(probe.video?.codecName).toBe('vp9');
      expect(probe.audio?.codecName).toBe('opus');
      expect(Math.abs(probe.durationSeconds! - DURATION_SECONDS)).toBeLessThanOrEqual(1.5);
    }
    expect(errors).toEqual([]);
  }

  it('from streams its own page acquired, published with the SDK', async () => {
    await recordThrough('', 'sdk-1');
  });

  it("from the seed's globals through the recorder-compat script (startRecording / sendRecordings)", async () => {
    await recordThrough('legacy/', 'legacy-1');
  });

  it('gets one interview for a create retried with the same externalId', async () => {
    const first = await app.createInterview({ id: 'retried-1', candidateName: 'Ada', durationSeconds: 60 });
    const again = await app.createInterview({ id: 'retried-1', candidateName: 'Ada', durationSeconds: 60 });
    expect(again.ingestId).toBe(first.ingestId);
    const listed = await ts.api<Array<{ id: string }>>('GET', '/api/interviews?externalId=retried-1');
    expect(listed.body.map((interview) => interview.id)).toEqual([first.ingestId]);
    expect((await getInterview(ts, first.ingestId)).status).toBe('created');
  });
});

describe("a host app frames interview-ingest's candidate page", () => {
  let ts: TestService;
  let allowed: HostApp;
  let other: HostApp;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildClient();
    const options: HostAppOptions = { ingestUrl: '', adminToken: TEST_ADMIN_TOKEN, webhookSecret: webhookSecret() };
    [allowed, other] = await Promise.all([startHostApp(options), startHostApp(options)]);
    ts = await startTestService({ EMBED_ORIGINS: allowed.url });
    options.ingestUrl = ts.url;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
    await Promise.all([allowed?.close(), other?.close()]);
  });

  it('records from an allowed origin (iframe with allow="display-capture; camera; microphone")', async () => {
    const record = await allowed.createInterview({ id: 'framed-1', candidateName: 'Grace', durationSeconds: 60 });
    const page = await browser.newPage();
    await page.goto(`${allowed.url}/interview/framed-1/iframe/`);
    const frame = page.frameLocator('#interview');
    const start = frame.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled(), { timeout: 15_000 }).toBe(true);
    await start.click();
    await waitForStatus(ts, record.ingestId, 'live', 20_000);
    await expect.poll(() => frame.locator('#recording').textContent(), { timeout: 15_000 }).toBe('Recording');
    await ts.api('POST', `/api/interviews/${record.ingestId}/end`);
    await waitForStatus(ts, record.ingestId, 'completed', 60_000);
  });

  it('is refused to another origin: the browser does not render the framed page, nothing connects', async () => {
    // This app's origin is not allowed, so it could not give a returnUrl: the interview is made without.
    const created = await ts.createInterview({ durationSeconds: 60 });
    const record = { id: 'framed-2', candidateName: 'Ada', durationSeconds: 60, ingestId: created.id, candidateUrl: created.candidateUrl, status: 'created', screenVideo: null, candidateVideo: null };
    other.interviews.set(record.id, record);
    const page = await browser.newPage();
    const blocked = page.waitForEvent('console', { predicate: (message) => /frame-ancestors/.test(message.text()), timeout: 15_000 });
    await page.goto(`${other.url}/interview/framed-2/iframe/`);
    await blocked;
    expect(await page.frameLocator('#interview').locator('#start').count()).toBe(0);
    expect(ts.service.sessions.get(record.ingestId)?.room ?? null).toBeNull();
  });
});
