// Single-port media (the default): every WebRTC transport of a worker lives on its WebRtcServer's
// one UDP and one TCP port, so a firewall opens two ports per worker; the recorder's loopback
// PlainTransports keep drawing from the range.
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, launchBrowser, pressStart, type TestBrowser } from '../support/browser.ts';
import { waitForStatus } from '../support/recordedInterview.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

describe('single-port media', () => {
  let ts: TestService;
  let browser: TestBrowser;
  const transports: types.Transport[] = [];

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    for (const worker of ts.service.workers.workers) {
      worker.observer.on('newrouter', (router) => router.observer.on('newtransport', (transport) => transports.push(transport)));
    }
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });

  it('carries a Chromium candidate and proctor over the worker’s one UDP and one TCP port while the recorder uses the range', async () => {
    const { webRtcServerPort, rtcMinPort, rtcMaxPort } = ts.service.config.mediasoup;
    expect(webRtcServerPort).toBeDefined();
    const interview = await ts.createInterview({ durationSeconds: 600 });
    const candidate = await browser.newPage();
    const clicked = await pressStart(candidate, interview.candidateUrl);
    const live = await waitForStatus(ts, interview.id, 'live', 20_000);
    console.log(`single port ${webRtcServerPort}: Start → live in ${Date.parse(live.startedAt!) - clicked} ms`);

    const proctor = await browser.newPage();
    await proctor.goto(interview.proctorUrl);
    await expect.poll(() => proctor.locator('#screen').evaluate((video: HTMLVideoElement) => video.currentTime), { timeout: 15_000 }).toBeGreaterThan(1);

    const webRtc = transports.filter((transport): transport is types.WebRtcTransport => transport.constructor.name === 'WebRtcTransport' && !transport.closed);
    expect(webRtc.map((transport) => transport.appData.direction).sort()).toEqual(['recv', 'send']);
    for (const transport of webRtc) {
      // Every ICE candidate handed to the pages, UDP and TCP, is the one port...
      expect(transport.iceCandidates.map((candidate) => `${candidate.protocol}:${candidate.port}`).sort()).toEqual([`tcp:${webRtcServerPort}`, `udp:${webRtcServerPort}`]);
      // ...and the media really flows through it.
      await waitFor(() => transport.iceSelectedTuple, { what: 'a selected ICE tuple' });
      expect(transport.iceSelectedTuple).toMatchObject({ localPort: webRtcServerPort, protocol: 'udp' });
    }
    // No WebRTC transport holds a port of the range; the recorder's three PlainTransports do.
    const plain = transports.filter((transport): transport is types.PlainTransport => transport.constructor.name === 'PlainTransport' && !transport.closed);
    expect(plain.length).toBe(3);
    for (const transport of plain) {
      expect(transport.tuple.localPort).toBeGreaterThanOrEqual(rtcMinPort);
      expect(transport.tuple.localPort).toBeLessThanOrEqual(rtcMaxPort);
    }
    const [headroom] = ts.service.workers.portHeadroom();
    expect(headroom).toMatchObject({ tcpInUse: 0 });
    expect(headroom!.udpInUse).toBe(plain.reduce((sum, transport) => sum + (transport.rtcpTuple ? 2 : 1), 0));
  });
});
