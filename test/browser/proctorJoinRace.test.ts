// A proctor page that is still setting up its receive side while the candidate's producers change:
// the join's track list is a snapshot, so only the notifications tell the page what changed. The
// page's WebSocket is routed through the test, which holds its `createTransport` request to make
// that window seconds wide instead of milliseconds (as after a media server reset, when the proctor
// and the candidate set up again at the same time).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, launchBrowser, pageErrors, proctorScreenState, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

/** The proctor page's socket.io traffic, with its first `createTransport` request held back. */
interface HeldSetup {
  /** Whether the page has sent its `createTransport` (and it is being held). */
  held: () => boolean;
  /** Server notifications the page received, by name. */
  notified: (name: string) => number;
  release: () => void;
}

async function holdCreateTransport(page: Page): Promise<HeldSetup> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  const notifications = new Map<string, number>();
  await page.routeWebSocket(/socket\.io/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      if (!held && typeof message === 'string' && message.includes('"createTransport"')) {
        held = true;
        void released.then(() => server.send(message));
        return;
      }
      server.send(message);
    });
    server.onMessage((message) => {
      // socket.io event frames: 42/namespace,["name",payload]
      const name = typeof message === 'string' ? /^42[^[]*\["(\w+)"/.exec(message)?.[1] : undefined;
      if (name) notifications.set(name, (notifications.get(name) ?? 0) + 1);
      ws.send(message);
    });
  });
  return { held: () => held, notified: (name) => notifications.get(name) ?? 0, release };
}

describe('a proctor page still setting up while the candidate publishes', () => {
  let ts: TestService;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildClient();
    [ts, browser] = await Promise.all([startTestService(), launchBrowser()]);
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });

  async function startCandidate(candidateUrl: string): Promise<Page> {
    const candidate = await browser.newPage();
    await candidate.goto(candidateUrl);
    const start = candidate.getByRole('button', { name: /Start/ });
    await waitFor(() => start.isEnabled(), { timeoutMs: 10_000, what: 'the Start button' });
    await start.click();
    return candidate;
  }

  async function expectPlaying(proctor: Page, errors: string[]): Promise<void> {
    await waitFor(async () => {
      const state = await proctorScreenState(proctor);
      return state.width > 0 && state.frames > 10;
    }, { timeoutMs: 15_000, what: `the proctor to play the screen (page errors: ${errors.join(' | ')})` });
    const consumersCreated = () => proctor.evaluate(() => ['screen', 'camera', 'audio'].map((track) => performance.getEntriesByName(`consumer-created-${track}`).length));
    await expect.poll(async () => (await consumersCreated()).every((count) => count >= 1)).toBe(true);
    expect(await proctor.getByRole('button', { name: 'End interview' }).isEnabled()).toBe(true);
  }

  it('consumes the producers announced while it was setting up', async () => {
    const interview = await ts.createInterview();
    const proctor = await browser.newPage();
    const errors = pageErrors(proctor);
    const setup = await holdCreateTransport(proctor);
    await proctor.goto(interview.proctorUrl);
    await waitFor(() => setup.held(), { timeoutMs: 10_000, what: 'the proctor to ask for its receive transport' });

    await startCandidate(interview.candidateUrl);
    await waitFor(() => setup.notified('producerAdded') >= 3, { timeoutMs: 20_000, what: 'the three producers to be announced to the proctor page' });
    setup.release();
    await expectPlaying(proctor, errors);
  });

  it('plays the candidate again when the producers it joined with went away during its setup', async () => {
    const interview = await ts.createInterview();
    const firstCandidate = await startCandidate(interview.candidateUrl);
    await waitFor(() => ts.service.sessions.get(interview.id)?.room?.tracks.length === 3, { timeoutMs: 20_000, what: 'the candidate to publish' });

    const proctor = await browser.newPage();
    const errors = pageErrors(proctor);
    const setup = await holdCreateTransport(proctor);
    await proctor.goto(interview.proctorUrl);
    await waitFor(() => setup.held(), { timeoutMs: 10_000, what: 'the proctor to ask for its receive transport' });

    // The tracks the proctor joined with go away (the candidate's tab closes) before it consumes them.
    await firstCandidate.close();
    await waitFor(() => setup.notified('producerClosed') >= 3, { timeoutMs: 10_000, what: 'the producers to close' });
    setup.release();
    await waitFor(() => proctor.getByRole('button', { name: 'End interview' }).isEnabled(), { timeoutMs: 10_000, what: 'the proctor page to finish its setup' });

    await startCandidate(interview.candidateUrl);
    await expectPlaying(proctor, errors);
  });
});
