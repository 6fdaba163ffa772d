// TURN: with TURN_URLS + TURN_SECRET the pages get coturn REST-API credentials; with
// ICE_TRANSPORT_POLICY=relay their media may only go through the relay. A real coturn on ports of
// this test's own slice; the server's transports must see the media arrive from coturn's relay ports.
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, launchBrowser, pressStart, type TestBrowser } from '../support/browser.ts';
import { waitForStatus } from '../support/recordedInterview.ts';
import { randomRtcPorts } from '../support/rtcPorts.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';
import { startTurnServer, type TestTurnServer } from '../support/turnServer.ts';

const TURN_SECRET = 'turn-secret-for-tests-0123456789';

describe('candidate and proctor through a TURN relay only', () => {
  let ts: TestService;
  let turn: TestTurnServer;
  let browser: TestBrowser;
  const transports: types.WebRtcTransport[] = [];

  beforeAll(async () => {
    buildClient();
    // One slice of 200 ports: the service takes the first 150, coturn the rest.
    const slice = Number(randomRtcPorts().RTC_MIN_PORT);
    turn = await startTurnServer({ port: slice + 150, relayMin: slice + 151, relayMax: slice + 199, secret: TURN_SECRET });
    ts = await startTestService({
      RTC_MIN_PORT: String(slice),
      RTC_MAX_PORT: String(slice + 149),
      TURN_URLS: turn.url,
      TURN_SECRET,
      ICE_TRANSPORT_POLICY: 'relay',
    });
    for (const worker of ts.service.workers.workers) {
      worker.observer.on('newrouter', (router) =>
        router.observer.on('newtransport', (transport) => {
          if (transport.constructor.name === 'WebRtcTransport') transports.push(transport as types.WebRtcTransport);
        }),
      );
    }
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
    await turn?.close();
  });

  it('publishes and plays with coturn REST credentials, every media path through the relay', async () => {
    const interview = await ts.createInterview({ durationSeconds: 600 });
    const candidate = await browser.newPage();
    const clicked = await pressStart(candidate, interview.candidateUrl);
    const live = await waitForStatus(ts, interview.id, 'live', 20_000);
    console.log(`TURN relay only: Start → live in ${Date.parse(live.startedAt!) - clicked} ms`);

    const proctor = await browser.newPage();
    await proctor.goto(interview.proctorUrl);
    await expect.poll(() => proctor.locator('#screen').evaluate((video: HTMLVideoElement) => video.currentTime), { timeout: 20_000 }).toBeGreaterThan(1);

    const open = transports.filter((transport) => !transport.closed);
    expect(open.map((transport) => transport.appData.direction).sort()).toEqual(['recv', 'send']);
    for (const transport of open) {
      const tuple = await waitFor(() => transport.iceSelectedTuple, { what: 'a selected ICE tuple' });
      // The peer the server talks to is coturn's relay address, not the browser.
      expect(tuple.remoteIp).toBe('127.0.0.1');
      expect(tuple.remotePort).toBeGreaterThanOrEqual(turn.relayPorts.min);
      expect(tuple.remotePort).toBeLessThanOrEqual(turn.relayPorts.max);
    }
  });
});
