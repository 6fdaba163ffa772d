// Every refusal reaches the host's page as its typed code (data-code on the host's #error), with
// real Chromium on the example host app's own origin. Where the browser cannot be made to refuse
// for real here (a denied prompt, no camera), the page's getDisplayMedia / getUserMedia answer with
// the DOMException Chromium gives in that case.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoleTokens } from '../../server/auth/RoleTokens.ts';
import { startHostApp, type HostApp, type HostAppOptions } from '../../examples/host-app/HostApp.ts';
import { buildClient, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { publishSynthetic, waitForRecordedBytes } from '../support/recordedInterview.ts';
import { TEST_ADMIN_TOKEN, startTestService, type TestService } from '../support/testService.ts';
import { webhookSecret } from '../support/webhookReceiver.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';

const errorCode = (page: Page) => page.locator('#error').getAttribute('data-code');
let counter = 0;

describe('the SDK gives the host page a typed code for every refusal', () => {
  const apps: HostApp[] = [];
  const services: TestService[] = [];
  const browsers: TestBrowser[] = [];
  let publisher: SyntheticPublisher | undefined;

  /** A service and the host app in front of it (extra env for limits and capacity). */
  async function hostWith(env: Record<string, string> = {}): Promise<{ ts: TestService; app: HostApp }> {
    const options: HostAppOptions = { ingestUrl: '', adminToken: TEST_ADMIN_TOKEN, webhookSecret: webhookSecret() };
    const app = await startHostApp(options);
    apps.push(app);
    const ts = await startTestService({ EMBED_ORIGINS: app.url, ...env });
    services.push(ts);
    options.ingestUrl = ts.url;
    return { ts, app };
  }

  async function browser(options: Parameters<typeof launchBrowser>[0] = {}): Promise<TestBrowser> {
    const launched = await launchBrowser(options);
    browsers.push(launched);
    return launched;
  }

  async function hostPage(on: { app: HostApp }, via: TestBrowser, init?: () => void): Promise<{ page: Page; id: string; ingestId: string }> {
    const id = `refusal-${++counter}`;
    const record = await on.app.createInterview({ id, candidateName: 'Grace', durationSeconds: 60 });
    const page = await via.newPage();
    if (init) await page.addInitScript(init);
    await page.goto(`${on.app.url}/interview/${id}/`);
    return { page, id, ingestId: record.ingestId };
  }

  let main: { ts: TestService; app: HostApp };
  let chromium: TestBrowser;

  beforeAll(async () => {
    buildClient();
    main = await hostWith();
    chromium = await browser();
  });

  afterAll(async () => {
    await publisher?.close();
    await Promise.all(browsers.map((launched) => launched.close()));
    await Promise.all(services.map((ts) => ts.close()));
    await Promise.all(apps.map((app) => app.close()));
  });

  it('not_entire_screen: the host holds a tab share', async () => {
    const { page } = await hostPage(main, await browser({ displaySurface: 'browser' }));
    await page.locator('#start').click();
    await expect.poll(() => errorCode(page), { timeout: 15_000 }).toBe('not_entire_screen');
    expect(await page.locator('#error').textContent()).toMatch(/^You shared a browser tab, not your entire screen\./);
  });

  it('permission_denied and no_camera: the SDK runs the permission flow', async () => {
    const denied = await hostPage(main, chromium, () => {
      navigator.mediaDevices.getDisplayMedia = async () => {
        throw new DOMException('Permission denied', 'NotAllowedError');
      };
    });
    await denied.page.locator('#start-sdk').click();
    await expect.poll(() => errorCode(denied.page), { timeout: 15_000 }).toBe('permission_denied');
    const noCamera = await hostPage(main, chromium, () => {
      navigator.mediaDevices.getUserMedia = async () => {
        throw new DOMException('Requested device not found', 'NotFoundError');
      };
    });
    await noCamera.page.locator('#start-sdk').click();
    await expect.poll(() => errorCode(noCamera.page), { timeout: 15_000 }).toBe('no_camera');
  });

  it('missing_stream, not_a_screen, track_ended and screen_share_stopped on a published interview', async () => {
    const { page, ingestId } = await hostPage(main, chromium);
    await page.locator('#start').click();
    await expect.poll(() => main.ts.service.sessions.get(ingestId)?.room?.tracks.length ?? 0, { timeout: 15_000 }).toBe(3);
    const publishCode = (media: string) =>
      page.evaluate(async (which) => {
        const feeds = window as unknown as { video_feed: MediaStream; session: { publish: (media: object) => Promise<void> } };
        const given = which === 'no camera' ? { camera: null } : { screen: feeds.video_feed };
        return feeds.session.publish(given).then(() => 'published', (error: { code: string }) => error.code);
      }, media);
    expect(await publishCode('no camera')).toBe('missing_stream');
    expect(await publishCode('camera as screen')).toBe('not_a_screen');
    // The host stops its own camera track (no 'ended' event fires for that): the SDK notices.
    await page.evaluate(() => (window as unknown as { video_feed: MediaStream }).video_feed.getVideoTracks()[0]!.stop());
    await expect.poll(() => errorCode(page), { timeout: 5000 }).toBe('track_ended');
    await page.evaluate(() => {
      const track = (window as unknown as { entire_screen_feed: MediaStream }).entire_screen_feed.getVideoTracks()[0]!;
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    await expect.poll(() => errorCode(page), { timeout: 5000 }).toBe('screen_share_stopped');
  });

  it('link_invalid and link_expired: a tampered and an expired candidate link', async () => {
    const tampered = await hostPage(main, chromium, undefined);
    await tampered.page.close();
    const record = main.app.interviews.get(tampered.id)!;
    record.candidateUrl = record.candidateUrl.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'));
    const page = await chromium.newPage();
    await page.goto(`${main.app.url}/interview/${tampered.id}/`);
    await expect.poll(() => errorCode(page), { timeout: 15_000 }).toBe('link_invalid');
    expect(await page.locator('#state').textContent()).toBe('closed');

    const expired = await hostPage(main, chromium);
    await expired.page.close();
    const expiredRecord = main.app.interviews.get(expired.id)!;
    const { roleTokenKey } = JSON.parse(fs.readFileSync(path.join(main.ts.dataDir, 'secrets.json'), 'utf8')) as { roleTokenKey: string };
    const token = new RoleTokens(roleTokenKey).issue(expired.ingestId, 'candidate', -60);
    expiredRecord.candidateUrl = `${main.ts.url}/interview/${expired.ingestId}#token=${token}`;
    const expiredPage = await chromium.newPage();
    await expiredPage.goto(`${main.app.url}/interview/${expired.id}/`);
    await expect.poll(() => errorCode(expiredPage), { timeout: 15_000 }).toBe('link_expired');
  });

  it('unsupported_browser: no WebRTC, and nothing reaches signalling', async () => {
    const { page, ingestId } = await hostPage(main, chromium, () => {
      delete (window as unknown as { RTCPeerConnection?: unknown }).RTCPeerConnection;
    });
    await expect.poll(() => errorCode(page), { timeout: 15_000 }).toBe('unsupported_browser');
    expect(await page.locator('#error').textContent()).toMatch(/live video \(WebRTC\)/);
    expect(main.ts.service.sessions.get(ingestId)?.room ?? null).toBeNull();
  });

  it('session_replaced: the interview opened in a second tab', async () => {
    const first = await hostPage(main, chromium);
    await expect.poll(() => first.page.locator('#state').textContent(), { timeout: 15_000 }).toBe('ready');
    const second = await chromium.newPage();
    await second.goto(first.page.url());
    await expect.poll(() => errorCode(first.page), { timeout: 15_000 }).toBe('session_replaced');
  });

  it('limit_reached: one connection per address allowed, a second page is refused and told', async () => {
    const limited = await hostWith({ MAX_CONNECTIONS_PER_IP: '1' });
    const first = await hostPage(limited, chromium);
    await expect.poll(() => first.page.locator('#state').textContent(), { timeout: 15_000 }).toBe('ready');
    const second = await hostPage(limited, chromium);
    await expect.poll(() => errorCode(second.page), { timeout: 15_000 }).toBe('limit_reached');
  });

  it('unreachable: a host page of an origin not in EMBED_ORIGINS is refused, the others are not touched', async () => {
    const stranger = await startHostApp({ ingestUrl: main.ts.url, adminToken: TEST_ADMIN_TOKEN, webhookSecret: webhookSecret() });
    apps.push(stranger);
    const created = await main.ts.createInterview({ durationSeconds: 60 });
    stranger.interviews.set('stranger-1', { id: 'stranger-1', candidateName: 'Eve', durationSeconds: 60, ingestId: created.id, candidateUrl: created.candidateUrl, status: 'created', screenVideo: null, candidateVideo: null });
    const allowed = await hostPage(main, chromium);
    await expect.poll(() => allowed.page.locator('#state').textContent(), { timeout: 15_000 }).toBe('ready');
    const page = await chromium.newPage();
    await page.goto(`${stranger.url}/interview/stranger-1/`);
    await expect.poll(() => errorCode(page), { timeout: 15_000 }).toBe('unreachable');
    expect(await page.locator('#state').textContent()).toBe('connecting');
    expect(main.ts.service.sessions.get(created.id)?.room ?? null).toBeNull();
    expect(await allowed.page.locator('#state').textContent()).toBe('ready');
  });

  it('at_capacity: the service has no room for another interview', async () => {
    // Half the cores allowed, each interview reserving 60 % of that: one fits, two do not.
    const threshold = os.cpus().length * 0.5;
    const full = await hostWith({ ADMISSION_MAX_CPU_PERCENT: '50', INTERVIEW_CPU_COST: String(threshold * 0.6), ADMISSION_MEASURED_CPU: 'false' });
    const waiting = await full.app.createInterview({ id: 'waiting', candidateName: 'Grace', durationSeconds: 60 });
    const running = await full.ts.createInterview({ durationSeconds: 30 });
    publisher = await publishSynthetic(full.ts, running.id);
    await waitForRecordedBytes(full.ts, running.id, 50_000);
    const page = await chromium.newPage();
    await page.goto(`${full.app.url}/interview/${waiting.id}/`);
    await expect.poll(() => errorCode(page), { timeout: 15_000 }).toBe('at_capacity');
  });
});
