// The candidate's network is hard: here, UDP is blocked (only TCP gets through), measured on the
// candidate's path only (iptables on the loopback, the worker's single media port).
import path from 'node:path';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, launchBrowser, pressStart, pageErrors, type TestBrowser } from '../support/browser.ts';
import { decodeErrors, hasCues, largestPtsStep, probeFile, probePackets } from '../support/ffprobe.ts';
import { UdpBlock } from '../support/networkImpairment.ts';
import { download, waitForStatus } from '../support/recordedInterview.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const DURATION_SECONDS = 15;

/** Keeps every RTCPeerConnection the page makes, so the test can read its senders' parameters. */
function keepPeerConnections(): void {
  const Native = RTCPeerConnection;
  const kept: RTCPeerConnection[] = [];
  Object.assign(window, { peerConnections: kept });
  window.RTCPeerConnection = class extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      kept.push(this);
    }
  };
}

describe('a candidate on a network that blocks UDP', () => {
  let ts: TestService;
  let browser: TestBrowser;
  let block: UdpBlock;
  const sendTransports: types.WebRtcTransport[] = [];

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    for (const worker of ts.service.workers.workers) {
      worker.observer.on('newrouter', (router) =>
        router.observer.on('newtransport', (transport) => {
          if (transport.appData.direction === 'send') sendTransports.push(transport as types.WebRtcTransport);
        }),
      );
    }
    browser = await launchBrowser();
    block = new UdpBlock(ts.service.config.mediasoup.webRtcServerPort!);
    block.block();
  });

  afterAll(async () => {
    block?.restore();
    await browser?.close();
    await ts?.close();
  });

  it('publishes over ICE-TCP within 5 s of Start and is recorded normally', async () => {
    const interview = await ts.createInterview({ durationSeconds: DURATION_SECONDS });
    const page = await browser.newPage();
    const errors = pageErrors(page);
    await page.addInitScript(keepPeerConnections);
    const clicked = await pressStart(page, interview.candidateUrl);
    const tuple = await waitFor(() => sendTransports.find((transport) => !transport.closed && transport.iceSelectedTuple)?.iceSelectedTuple, {
      timeoutMs: 5000,
      intervalMs: 20,
      what: 'the candidate’s media connection',
    });
    const connectedMs = Date.now() - clicked;
    const live = await waitForStatus(ts, interview.id, 'live', 10_000);
    console.log(`UDP blocked: ICE ${tuple.protocol} after ${connectedMs} ms, live ${Date.parse(live.startedAt!) - clicked} ms after Start; ${block.droppedPackets()} UDP packets dropped`);
    expect(tuple.protocol).toBe('tcp');
    expect(block.droppedPackets()).toBeGreaterThan(0);

    // The page's encoders trade what the issue asks for when bandwidth is short.
    const preferences = await page.evaluate(() =>
      (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections
        .flatMap((pc) => (pc.signalingState === 'closed' ? [] : pc.getSenders()))
        .filter((sender) => sender.track?.kind === 'video')
        .map((sender) => `${sender.track!.contentHint}:${(sender.getParameters() as RTCRtpSendParameters & { degradationPreference?: string }).degradationPreference}`)
        .sort(),
    );
    expect(preferences).toEqual(['detail:maintain-resolution', 'motion:maintain-framerate']);

    const done = await waitForStatus(ts, interview.id, 'completed', (DURATION_SECONDS + 60) * 1000);
    expect(done.gaps).toEqual([]);
    expect(errors).toEqual([]);
    for (const file of await Promise.all([download(done.screenVideo), download(done.candidateVideo)])) {
      const probe = await probeFile(file);
      const audio = await probePackets(file, 'a:0');
      console.log(`UDP blocked ${path.basename(file)}: ${probe.durationSeconds} s, ${probe.video?.width}×${probe.video?.height}, longest audio step ${largestPtsStep(audio).toFixed(3)} s`);
      expect(probe.video?.codecName).toBe('vp9');
      expect(Math.abs(probe.durationSeconds! - DURATION_SECONDS)).toBeLessThanOrEqual(1.5);
      expect(await hasCues(file)).toBe(true);
      expect(await decodeErrors(file)).toEqual([]);
    }
  });
});
