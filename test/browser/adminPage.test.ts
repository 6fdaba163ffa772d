import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoleTokens } from '../../server/auth/RoleTokens.ts';
import { buildClient, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { publishSynthetic, waitForStatus } from '../support/recordedInterview.ts';
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

  it('does the whole job: creates an interview and copies its links, shows live ones first, pages the rest, deletes recordings', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ts.url });
    const page = await browser.newPage();
    await page.goto(`${ts.url}/admin`);
    await page.getByLabel('Admin token').fill(ts.adminToken);
    await page.getByRole('button', { name: 'Show interviews' }).click();

    await page.getByLabel('Candidate name').fill('Katherine');
    await page.getByLabel('Length (minutes)').fill('45');
    await page.getByRole('button', { name: 'Create interview' }).click();
    const candidateLink = page.getByLabel('Candidate link');
    await expect.poll(() => candidateLink.inputValue()).toMatch(new RegExp(`^${ts.url}/interview/[0-9a-f-]{36}#token=`));
    const id = /\/interview\/([0-9a-f-]{36})#/.exec(await candidateLink.inputValue())![1]!;
    const { body: created } = await ts.api<{ candidateName: string; durationSeconds: number }>('GET', `/api/interviews/${id}`);
    expect(created).toMatchObject({ candidateName: 'Katherine', durationSeconds: 2700 });
    await page.getByRole('button', { name: 'Copy candidate link' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await candidateLink.inputValue());
    await page.getByRole('button', { name: 'Copy proctor link' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(new RegExp(`^${ts.url}/proctor/${id}#token=`));

    // More interviews than a page, one of them live and recorded: live ones are listed first, then every interview page by page.
    for (let i = 0; i < 22; i++) await ts.createInterview({ candidateName: `Filler ${i}` });
    const recorded = await ts.createInterview({ candidateName: 'Live Lin', durationSeconds: 10 });
    const publisher = await publishSynthetic(ts, recorded.id);
    try {
      await waitForStatus(ts, recorded.id, 'live', 20_000);
      const liveTable = page.locator('#live');
      await expect.poll(() => liveTable.getByRole('row').count(), { timeout: 10_000 }).toBe(1);
      expect(await liveTable.getByRole('cell').nth(0).textContent()).toBe('Live Lin');
      expect(await liveTable.getByRole('cell').nth(2).textContent()).toMatch(/^0:(0\d|10)$/);
      const { body: all, status } = await ts.api<unknown[]>('GET', '/api/interviews');
      expect(status).toBe(200);
      await expect.poll(() => page.locator('#page-info').textContent()).toBe(`1–20 of ${all.length}`);
      expect(await page.locator('#interviews').getByRole('row').count()).toBe(20);
      await page.getByRole('button', { name: 'Next page' }).click();
      await expect.poll(() => page.locator('#page-info').textContent()).toBe(`21–${all.length} of ${all.length}`);
      expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Previous page' }).click();

      await waitForStatus(ts, recorded.id, 'completed', 60_000);
    } finally {
      await publisher.close();
    }
    const remove = page.getByRole('button', { name: 'Delete recordings of Live Lin' });
    await expect.poll(() => remove.count(), { timeout: 10_000 }).toBe(1);
    const row = page.locator('#interviews').getByRole('row').filter({ has: remove });
    expect(await row.getByRole('cell').nth(4).textContent()).toBe('saved');
    expect(await row.getByRole('button', { name: 'Review Live Lin' }).count()).toBe(1);
    page.once('dialog', (dialog) => void dialog.accept());
    await remove.click();
    await expect.poll(() => page.locator('#message').textContent()).toBe('The recordings of Live Lin are deleted.');
    const { body: after } = await ts.api<{ recordingsDeletedAt: string | null; screenVideo: string }>('GET', `/api/interviews/${recorded.id}`);
    expect(after.recordingsDeletedAt).not.toBeNull();
    expect(after.screenVideo).toBe('');
    const deletedRow = page.locator('#interviews').getByRole('row').filter({ hasText: 'Live Lin' });
    await expect.poll(() => deletedRow.getByRole('cell').nth(4).textContent()).toMatch(/^deleted /);
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
