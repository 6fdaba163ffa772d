import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { request, type RawSocket } from '../signaling/signalingClient.ts';
import { buildClient, launchBrowser, pageErrors, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';
import { outcomeOf, signalingFrom } from './rawClients.ts';

const ATTEMPTS = 1000;
const IN_FLIGHT = 50;
/** The flood comes from another loopback address than the pages, as from another machine. */
const ATTACKER = '127.0.0.2';

async function screenBytes(ts: TestService, interviewId: string): Promise<number> {
  const recording = await ts.service.sessions.get(interviewId)?.recording;
  return recording ? (await recording.stats()).bytesWritten.screen : 0;
}

async function proctorTimes(page: Page): Promise<{ screen: number; camera: number }> {
  return page.evaluate(() => ({
    screen: (document.getElementById('screen') as HTMLVideoElement).currentTime,
    camera: (document.getElementById('camera') as HTMLVideoElement).currentTime,
  }));
}

describe('one leaked proctor link cannot exhaust the media server', () => {
  let ts: TestService;
  let browser: TestBrowser;
  let victim: CreatedInterview;
  let attacked: CreatedInterview;
  const held: RawSocket[] = [];

  beforeAll(async () => {
    buildClient();
    // Range mode, where each transport holds ports of its own: the flood must not take them.
    ts = await startTestService({ RTC_PORT_MODE: 'range' });
    browser = await launchBrowser();
    [victim, attacked] = await Promise.all([ts.createInterview({ candidateName: 'Victim' }), ts.createInterview({ candidateName: 'Attacked' })]);
  });

  afterAll(async () => {
    for (const socket of held) socket.disconnect();
    await browser?.close();
    await ts?.close();
  });

  it(`${ATTEMPTS} connection attempts with one proctor token leave another interview's candidate and proctor fully working`, async () => {
    const candidate = await browser.newPage();
    const candidateErrors = pageErrors(candidate);
    await candidate.goto(victim.candidateUrl);
    const start = candidate.getByRole('button', { name: /Start/ });
    await expect.poll(() => start.isEnabled()).toBe(true);
    await start.click();
    await expect.poll(() => candidate.locator('#recording').textContent(), { timeout: 20_000 }).toBe('Recording');
    const proctor = await browser.newPage();
    await proctor.goto(victim.proctorUrl);
    await waitFor(async () => {
      const times = await proctorTimes(proctor);
      return times.screen > 0.5 && times.camera > 0.5;
    }, { timeoutMs: 20_000, what: 'the victim proctor playing both videos' });
    await waitFor(async () => (await screenBytes(ts, victim.id)) > 0, { timeoutMs: 20_000, what: 'the victim recording growing' });

    const portsBefore = ts.service.workers.portHeadroom()[0]!;
    const before = { bytes: await screenBytes(ts, victim.id), times: await proctorTimes(proctor) };
    const outcomes = new Map<string, number>();
    let transports = 0;
    const floodStarted = Date.now();
    let next = 0;
    const attempt = async (): Promise<void> => {
      while (next < ATTEMPTS) {
        next++;
        const outcome = await outcomeOf(signalingFrom(ts.url, ATTACKER, attacked.proctorToken));
        if (outcome.kind === 'connected') {
          held.push(outcome.socket);
          await request(outcome.socket, 'join', { interviewId: attacked.id });
          const answer = await request(outcome.socket, 'createTransport', { direction: 'recv' });
          if (answer.ok) transports++;
          outcomes.set('connected', (outcomes.get('connected') ?? 0) + 1);
        } else {
          outcomes.set(outcome.code ?? `transport refused (${outcome.message})`, (outcomes.get(outcome.code ?? `transport refused (${outcome.message})`) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, attempt));
    const floodMs = Date.now() - floodStarted;
    const portsDuring = ts.service.workers.portHeadroom()[0]!;
    console.log(`flood of ${ATTEMPTS} proctor connections in ${floodMs} ms: ${JSON.stringify(Object.fromEntries(outcomes))}; ` +
      `worker UDP ports in use ${portsBefore.udpInUse} → ${portsDuring.udpInUse}, TCP ${portsBefore.tcpInUse} → ${portsDuring.tcpInUse}`);

    // Before: 1,000 of 1,000 accepted, each with a transport (1,000 UDP ports + 1,000 TCP listeners).
    expect(outcomes.get('connected')).toBe(10);
    expect(transports).toBe(10);
    expect(outcomes.get('limit_reached')! + 10).toBe(ATTEMPTS);
    expect(portsDuring.udpInUse - portsBefore.udpInUse).toBe(10);
    expect(portsDuring.tcpInUse - portsBefore.tcpInUse).toBe(10);

    // The other interview goes on: media flowing to the proctor, recording growing, health fine.
    await waitFor(async () => {
      const times = await proctorTimes(proctor);
      return times.screen > before.times.screen + 2 && times.camera > before.times.camera + 2;
    }, { timeoutMs: 10_000, what: 'the victim proctor still playing after the flood' });
    await waitFor(async () => (await screenBytes(ts, victim.id)) > before.bytes + 50_000, { timeoutMs: 10_000, what: 'the victim recording still growing' });
    expect((await fetch(`${ts.url}/healthz`)).status).toBe(200);
    expect(await candidate.locator('#recording').textContent()).toBe('Recording');
    expect(candidateErrors).toEqual([]);

    // A real proctor page of the attacked interview says, in words, why it cannot watch.
    const refusedPage = await browser.newPage();
    await refusedPage.goto(attacked.proctorUrl);
    await expect.poll(() => refusedPage.locator('#message').textContent()).toMatch(/Cannot watch right now: this interview already has 10 proctor connections open/);
    // ...and gets in by itself once a seat is free.
    held.shift()!.disconnect();
    await expect.poll(() => refusedPage.locator('#connection').textContent(), { timeout: 15_000 }).not.toBe('Not connected');
  });
});
