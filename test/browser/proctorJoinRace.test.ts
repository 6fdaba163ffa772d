// A proctor page that is still setting up its receive side when the candidate's producers appear:
// the join's track list predates them, so only the `producerAdded` notifications tell the page. The
// page's WebSocket is routed through the test, which holds its `createTransport` request until the
// candidate has published, to make that window wide instead of a few milliseconds (as after a media
// server reset, when the proctor and the candidate set up again at the same time).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, launchBrowser, pageErrors, proctorScreenState, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';

describe('a proctor page still setting up when the candidate publishes', () => {
  let ts: TestService;
  let browser: TestBrowser;
  let interview: CreatedInterview;

  beforeAll(async () => {
    buildClient();
    [ts, browser] = await Promise.all([startTestService(), launchBrowser()]);
    interview = await ts.createInterview();
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });

  it('consumes the producers announced while it was setting up', async () => {
    const proctor = await browser.newPage();
    const errors = pageErrors(proctor);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let heldCreateTransport = false;
    let announced = 0;
    await proctor.routeWebSocket(/socket\.io/, (page) => {
      const server = page.connectToServer();
      page.onMessage((message) => {
        if (!heldCreateTransport && typeof message === 'string' && message.includes('"createTransport"')) {
          heldCreateTransport = true;
          void released.then(() => server.send(message));
          return;
        }
        server.send(message);
      });
      server.onMessage((message) => {
        if (typeof message === 'string' && message.includes('"producerAdded"')) announced++;
        page.send(message);
      });
    });
    await proctor.goto(interview.proctorUrl);
    await waitFor(() => heldCreateTransport, { timeoutMs: 10_000, what: 'the proctor to ask for its receive transport' });

    const candidate = await browser.newPage();
    await candidate.goto(interview.candidateUrl);
    const start = candidate.getByRole('button', { name: /Start/ });
    await waitFor(() => start.isEnabled(), { timeoutMs: 10_000, what: 'the Start button' });
    await start.click();
    await waitFor(() => announced >= 3, { timeoutMs: 20_000, what: 'the three producers to be announced to the proctor page' });
    release();

    await waitFor(async () => {
      const state = await proctorScreenState(proctor);
      return state.width > 0 && state.frames > 10;
    }, { timeoutMs: 15_000, what: `the proctor to play the screen (page errors: ${errors.join(' | ')})` });
    const consumersCreated = () => proctor.evaluate(() => ['screen', 'camera', 'audio'].map((track) => performance.getEntriesByName(`consumer-created-${track}`).length));
    await expect.poll(async () => (await consumersCreated()).every((count) => count >= 1)).toBe(true);
  });
});
