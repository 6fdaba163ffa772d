import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { buildClient, launchBrowser, proctorScreenState, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';

const TRACKS = ['screen', 'camera', 'audio'] as const;

describe('when the mediasoup worker of a live interview dies', () => {
  let ts: TestService;
  let browser: TestBrowser;
  let interview: CreatedInterview;
  let proctor: Page;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    browser = await launchBrowser();
    interview = await ts.createInterview();
    const candidate = await browser.newPage();
    await candidate.goto(interview.candidateUrl);
    const start = candidate.getByRole('button', { name: /Start/ });
    await waitFor(() => start.isEnabled(), { timeoutMs: 10_000, what: 'the Start button' });
    await start.click();
    await waitFor(async () => (await ts.api<{ status: string }>('GET', `/api/interviews/${interview.id}`)).body.status === 'live', {
      timeoutMs: 20_000,
      what: 'the interview to go live',
    });
    proctor = await browser.newPage();
    await proctor.goto(interview.proctorUrl);
    await waitFor(async () => (await proctorScreenState(proctor)).width > 0, { timeoutMs: 15_000, what: 'the proctor to see the screen' });
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });

  it('tells the pages to set up again; the candidate republishes on a new worker and the proctor sees it', async () => {
    const oldRoom = ts.service.sessions.get(interview.id)?.room!;
    const oldProducers = TRACKS.map((track) => oldRoom.getProducer(track)!);
    const oldPid = ts.service.workers.workers[0]!.pid;
    const closedReason = new Promise((resolve) => oldRoom.once('closed', resolve));

    process.kill(oldPid, 'SIGKILL');
    expect(await closedReason).toBe('workerDied');
    const killedAt = Date.now();

    const room = await waitFor(async () => {
      const next = ts.service.sessions.get(interview.id)?.room;
      if (!next || next === oldRoom || next.tracks.length !== 3) return null;
      const counts = await Promise.all(TRACKS.map(async (track) => (await next.getProducer(track)!.getStats()).reduce((sum, stat) => sum + stat.packetCount, 0)));
      return counts.every((count) => count > 0) ? next : null;
    }, { timeoutMs: 20_000, what: 'the candidate to republish into a new room' });
    const recoveredAt = Date.now();
    expect(ts.service.workers.workers[0]!.pid).not.toBe(oldPid);
    // Fresh producers in a fresh room (the generation counter is per room, so compare identity).
    for (const [index, track] of TRACKS.entries()) expect(room.getProducer(track)).not.toBe(oldProducers[index]);

    const before = await waitFor(async () => {
      const state = await proctorScreenState(proctor);
      return state.consumers >= 2 && state.width > 0 ? state : null;
    }, { timeoutMs: 15_000, what: 'the proctor to consume the new screen producer' });
    await waitFor(async () => (await proctorScreenState(proctor)).frames > before.frames + 10, { timeoutMs: 10_000, what: 'new frames on the proctor page' });
    console.log(`media back on the server ${recoveredAt - killedAt} ms after the worker was killed; proctor playing ${Date.now() - killedAt} ms after`);
    expect((await ts.api<{ status: string }>('GET', `/api/interviews/${interview.id}`)).body.status).toBe('live');
  });
});
