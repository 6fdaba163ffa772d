import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoleTokens } from '../../server/auth/RoleTokens.ts';
import { buildClient, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startTestService, type TestService } from '../support/testService.ts';

describe('the admin page lists interviews and opens them for proctoring', () => {
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

  it('mints proctor links only for the admin, only for existing interviews', async () => {
    const interview = await ts.createInterview({ durationSeconds: 900 });
    const anonymous = await fetch(`${ts.url}/api/interviews/${interview.id}/proctor-link`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect((await ts.api('POST', '/api/interviews/00000000-0000-4000-8000-000000000000/proctor-link')).status).toBe(404);
    expect((await ts.api('POST', '/api/interviews/not-an-id/proctor-link')).status).toBe(400);

    const { status, body } = await ts.api<{ proctorUrl: string; expiresAt: string }>('POST', `/api/interviews/${interview.id}/proctor-link`);
    expect(status).toBe(200);
    const url = new URL(body.proctorUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${ts.url}/proctor/${interview.id}`);
    expect(url.search).toBe('');
    const token = new URLSearchParams(url.hash.slice(1)).get('token');
    const { roleTokenKey } = JSON.parse(fs.readFileSync(path.join(ts.dataDir, 'secrets.json'), 'utf8'));
    expect(new RoleTokens(roleTokenKey).verify(token)).toMatchObject({ interviewId: interview.id, role: 'proctor' });
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now() + 900_000);
  });

  it('asks for the admin token, lists waiting interviews, and Watch opens the proctor page', async () => {
    const interview = await ts.createInterview({ candidateName: 'Grace' });
    const page = await browser.newPage();
    await page.goto(`${ts.url}/admin`);
    await page.getByLabel('Admin token').fill('wrong-token-wrong-token');
    await page.getByRole('button', { name: 'Show interviews' }).click();
    await expect.poll(() => page.locator('#message').textContent()).toBe('That admin token was refused.');

    await page.getByLabel('Admin token').fill(ts.adminToken);
    await page.getByRole('button', { name: 'Show interviews' }).click();
    const watch = page.getByRole('button', { name: 'Watch Grace' });
    await expect.poll(() => watch.count(), { timeout: 10_000 }).toBe(1);
    const row = page.getByRole('row').filter({ has: watch });
    expect(await row.getByRole('cell').nth(1).textContent()).toBe('Waiting for the candidate');

    const [proctor] = await Promise.all([browser.context.waitForEvent('page'), watch.click()]);
    await proctor.waitForLoadState();
    expect(proctor.url()).toMatch(new RegExp(`/proctor/${interview.id}#token=`));
    await expect.poll(() => proctor.locator('#status').textContent(), { timeout: 10_000 }).toBe('Waiting for the candidate; candidate not publishing yet');
    await expect.poll(() => proctor.locator('#candidate').textContent()).toBe('Candidate: Grace');
    // The page itself never sends the token anywhere but the signalling handshake.
    expect(await page.evaluate(() => location.href)).toBe(`${ts.url}/admin`);
  });

  it('serves the pages with headers that keep the token in the fragment private', async () => {
    const response = await fetch(`${ts.url}/interview/${(await ts.createInterview()).id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await response.text()).toContain('<button id="start" type="button" disabled>Start interview</button>');
    expect((await fetch(`${ts.url}/interview/not-an-id`)).status).toBe(404);
    expect((await fetch(`${ts.url}/assets/..%2Fpages%2Fcandidate.html`)).status).toBe(404);
    expect((await fetch(`${ts.url}/assets/candidate.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });
});
