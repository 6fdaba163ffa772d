// The end page takes the candidate back to the host app (the interview's returnUrl, from the
// server): a "Continue" link once the uploads are done, followed by itself after 5 s; after a
// failure the link only, so the candidate can read what happened.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interview } from '../../server/db/Interview.ts';
import { buildClient, launchBrowser, pageErrors, type TestBrowser } from '../support/browser.ts';
import { waitForStatus } from '../support/recordedInterview.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const tokenOf = (url: string) => new URLSearchParams(new URL(url).hash.slice(1)).get('token')!;

describe('the end page and returnUrl', () => {
  let hostApp: http.Server;
  let hostOrigin: string;
  /** The same app on another port: an origin EMBED_ORIGINS does not name. */
  let otherApp: http.Server;
  let otherOrigin: string;
  let t: TestService;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildClient();
    // The host app: another origin, whose end page says where the candidate is.
    const hostPage: http.RequestListener = (request, response) => {
      const url = new URL(request.url ?? '/', 'http://host');
      // /frame?src=…: the host's page framing one of ours, as the README's iframe alternative does.
      const frame = url.pathname === '/frame' ? `<iframe id="embedded" src="${url.searchParams.get('src')}" allow="display-capture; camera; microphone; autoplay"></iframe>` : '';
      response.writeHead(200, { 'content-type': 'text/html' }).end(`<title>Host app</title><h1>Back at ${request.url}</h1>${frame}`);
    };
    [hostApp, otherApp] = [http.createServer(hostPage), http.createServer(hostPage)];
    await Promise.all([hostApp, otherApp].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
    hostOrigin = `http://127.0.0.1:${(hostApp.address() as AddressInfo).port}`;
    otherOrigin = `http://127.0.0.1:${(otherApp.address() as AddressInfo).port}`;
    t = await startTestService({ EMBED_ORIGINS: hostOrigin });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    for (const server of [hostApp, otherApp]) {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    }
  });

  async function createWithReturnUrl(returnUrl: string): Promise<{ id: string; candidateUrl: string; proctorUrl: string }> {
    const { status, body } = await t.api<{ id: string; candidateUrl: string; proctorUrl: string }>('POST', '/api/interviews', { durationSeconds: 60, returnUrl });
    expect(status).toBe(201);
    return body;
  }

  it('shows "Continue" once the interview is completed, says it will go back, and goes to returnUrl about 5 s later', async () => {
    const returnUrl = `${hostOrigin}/interview/end/7/?from=ingest`;
    const interview = await createWithReturnUrl(returnUrl);
    // Ended before any media: completed at once, without recordings.
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    await waitForStatus(t, interview.id, 'completed', 20_000);

    const page = await browser.newPage();
    const errors = pageErrors(page);
    await page.goto(`${t.url}/interview/end/${interview.id}#token=${tokenOf(interview.candidateUrl)}`);
    const link = page.getByRole('link', { name: 'Continue' });
    await expect.poll(() => link.isVisible(), { timeout: 10_000 }).toBe(true);
    const shownAt = Date.now();
    expect(await link.getAttribute('href')).toBe(returnUrl);
    expect(await page.locator('#return-note').textContent()).toBe('You will be taken back in 5 seconds.');
    await page.waitForURL(returnUrl, { timeout: 10_000 });
    expect(Date.now() - shownAt).toBeGreaterThan(4000);
    expect(await page.locator('h1').textContent()).toBe('Back at /interview/end/7/?from=ingest');
    expect(errors).toEqual([]);
  });

  /** An interview with a segment ffmpeg cannot read, ended: finalizing fails. */
  async function failedInterview(returnUrl: string): Promise<{ id: string; candidateUrl: string; segmentDir: string }> {
    const interview = await createWithReturnUrl(returnUrl);
    const segmentDir = path.join(t.dataDir, 'recordings', interview.id, 'segment-000');
    fs.mkdirSync(segmentDir, { recursive: true });
    fs.writeFileSync(path.join(segmentDir, 'screen.webm'), Buffer.alloc(4096, 0x5a));
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    await waitForStatus(t, interview.id, 'failed', 30_000);
    return { ...interview, segmentDir };
  }

  it('shows "Continue" without leaving by itself when saving the recordings failed, says when the service tries again, and follows that try', async () => {
    const returnUrl = `${hostOrigin}/interview/end/8/`;
    const interview = await failedInterview(returnUrl);

    const page = await browser.newPage();
    await page.goto(`${t.url}/interview/end/${interview.id}#token=${tokenOf(interview.candidateUrl)}`);
    const link = page.getByRole('link', { name: 'Continue' });
    await expect.poll(() => link.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await link.getAttribute('href')).toBe(returnUrl);
    // The service tries again by itself (the default schedule: a minute after the failure): the page
    // says so and when, in plain words; the reason is only in the small print, for support.
    const { body: failed } = await t.api<{ failureReason: string; nextRetryAt: string | null }>('GET', `/api/interviews/${interview.id}`);
    expect(failed.nextRetryAt).not.toBeNull();
    const message = await page.locator('#message').textContent();
    expect(message).toMatch(/^Your recordings could not be saved yet\. The service tries again automatically \(next try around \d{1,2}:\d{2}( [AP]M)?\)\. They are kept on the server; you can close this page\.$/);
    expect(message).not.toContain(failed.failureReason);
    expect(await page.locator('#failure-detail').textContent()).toBe(`For support: ${failed.failureReason}`);
    expect(await page.locator('#status').textContent()).toBe('Not saved yet');
    expect(await page.locator('#return-note').textContent()).toBe('');
    // Still here well past the 5 s a completed interview waits.
    await expect(page.waitForURL(returnUrl, { timeout: 7000 })).rejects.toThrow(/Timeout/);
    expect(new URL(page.url()).pathname).toBe(`/interview/end/${interview.id}`);

    // The retry comes due now and succeeds (the unreadable segment is gone: nothing was recorded).
    // The page, still open, follows it: the service looks every 15 s, the page every 15 s.
    fs.rmSync(interview.segmentDir, { recursive: true, force: true });
    await t.service.database.em().nativeUpdate(Interview, { id: interview.id }, { nextRetryAt: new Date() });
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 45_000 }).toBe('The interview ended before any media was recorded.');
    expect(await page.locator('#status').textContent()).toBe('Saved');
    expect(await page.locator('#failure-detail').textContent()).toBe('');
    expect(new URL(page.url()).pathname).toBe(`/interview/end/${interview.id}`);
  }, 120_000);

  it('says the recordings are kept and support can have them saved when no automatic retry is due any more', async () => {
    const interview = await failedInterview(`${hostOrigin}/interview/end/11/`);
    // Past the bound (FAILED_UPLOAD_RETRY_DAYS after the end) no retry is due: nextRetryAt is null.
    await t.service.database.em().nativeUpdate(Interview, { id: interview.id }, { nextRetryAt: null });
    const page = await browser.newPage();
    await page.goto(`${t.url}/interview/end/${interview.id}#token=${tokenOf(interview.candidateUrl)}`);
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('Your recordings could not be saved. They are kept on the server, and support can have them saved again.');
    expect(await page.locator('#status').textContent()).toBe('Not saved');
    expect(await page.locator('#failure-detail').textContent()).toMatch(/^For support: .+/);
  });

  it('framed by the host app, shows "Continue" in the frame and takes the whole page back', async () => {
    const returnUrl = `${hostOrigin}/interview/end/9/`;
    const interview = await createWithReturnUrl(returnUrl);
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    await waitForStatus(t, interview.id, 'completed', 20_000);
    const page = await browser.newPage();
    const src = `${t.url}/interview/end/${interview.id}#token=${tokenOf(interview.candidateUrl)}`;
    await page.goto(`${hostOrigin}/frame?src=${encodeURIComponent(src)}`);
    const frame = page.frameLocator('#embedded');
    await expect.poll(() => frame.getByRole('link', { name: 'Continue' }).isVisible(), { timeout: 10_000 }).toBe(true);
    await page.waitForURL(returnUrl, { timeout: 10_000 });
  });

  it('cannot be framed by an origin EMBED_ORIGINS does not name', async () => {
    const interview = await createWithReturnUrl(`${hostOrigin}/interview/end/10/`);
    const page = await browser.newPage();
    const src = `${t.url}/interview/end/${interview.id}#token=${tokenOf(interview.candidateUrl)}`;
    await page.goto(`${otherOrigin}/frame?src=${encodeURIComponent(src)}`);
    // Chromium replaces a frame its Content-Security-Policy refuses with an error page.
    await expect.poll(() => page.frames().find((frame) => frame !== page.mainFrame())?.url(), { timeout: 10_000 }).toMatch(/^chrome-error:/);
  });

  it('offers no way back to an interview created without returnUrl', async () => {
    const { body: interview } = await t.api<{ id: string; candidateUrl: string }>('POST', '/api/interviews', { durationSeconds: 60 });
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    await waitForStatus(t, interview.id, 'completed', 20_000);
    const page = await browser.newPage();
    await page.goto(`${t.url}/interview/end/${interview.id}#token=${tokenOf(interview.candidateUrl)}`);
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 10_000 }).toBe('The interview ended before any media was recorded.');
    expect(await page.locator('#return').isHidden()).toBe(true);
  });
});
