// The candidate's uplink loses datagrams at random (iptables statistic, inside the candidate's own
// network namespace); in one case every datagram of the media path also takes 50 ms each way
// through a user-space relay (100 ms more round trip; this kernel has no netem). NACK repairs
// most of what is lost; the recorder's frame gate holds a frame until its repair and drops what
// cannot be repaired up to the next key frame. The stored files must decode cleanly, with little
// frozen time and no long audio hole.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, buildClient, launchBrowser, pressStart, pageErrors, type TestBrowser } from '../support/browser.ts';
import { CandidateHost, DelayRelay } from '../support/candidateHost.ts';
import { decodeErrors, hasCues, largestPtsStep, probeFile, probePackets, type ProbedPacket } from '../support/ffprobe.ts';
import type { FrameGateStats } from '../../recorder-pipeline/rtp/FrameGate.ts';
import { download, waitForStatus } from '../support/recordedInterview.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const DURATION_SECONDS = 20;

/** Share of the file's time during which the picture stood still (frames more than 200 ms apart). */
function frozenShare(video: ProbedPacket[], durationSeconds: number): number {
  const frozen = video.slice(1).reduce((sum, packet, index) => {
    const step = packet.ptsTime - video[index]!.ptsTime;
    return step > 0.2 ? sum + step : sum;
  }, 0);
  return frozen / durationSeconds;
}

interface LossCase {
  loss: number;
  /** Added each way on the media path (0: none). */
  oneWayMs: number;
  /** Most frozen time the recording may add to what arrived, as a share of the file. */
  frozenMax: number;
  /** Longest step between audio packets allowed, in seconds. */
  audioStepMax: number;
}

// The issue's targets. Before the frame gate, at 3 % with 100 ms RTT 2 frames per file were
// written undecodable in every run (ffmpeg's RTP demuxer gives a missing packet 100 ms, less than
// a repair takes), and at 15 % 2–11 per file. Opus is not retransmitted: at 15 % a few packets in
// a row go missing now and then (3 in a row: 0.3 % of packets), which a player conceals.
describe.each<LossCase>([
  { loss: 0.03, oneWayMs: 50, frozenMax: 0.02, audioStepMax: 0.1 },
  // 15 %: 0.0–1.0 % frozen alone, 10.2 % once in a full suite's load (the frame gate waits on
  // repairs that a busy machine delays), so the bound is 12 %.
  { loss: 0.15, oneWayMs: 0, frozenMax: 0.12, audioStepMax: 0.25 },
])('a candidate whose uplink loses $loss of its UDP datagrams, $oneWayMs ms more each way', ({ loss, oneWayMs, frozenMax, audioStepMax }) => {
  let host: CandidateHost;
  let relay: DelayRelay | undefined;
  let ts: TestService;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildClient();
    host = CandidateHost.create();
    // PORT 0 on the link's address: PUBLIC_URL is http://<that address>:<the port the service got>.
    ts = await startTestService({ HOST: host.serviceAddress, RTC_LISTEN_IP: host.serviceAddress });
    if (oneWayMs > 0) {
      relay = new DelayRelay(host, ts.service.config.mediasoup.webRtcServerPort!, oneWayMs);
      await relay.start();
    }
    host.loseUplink(loss);
    browser = await launchBrowser({ executablePath: host.wrap(CHROMIUM_PATH), args: [`--unsafely-treat-insecure-origin-as-secure=${ts.service.config.publicUrl}`] });
  });

  afterAll(async () => {
    await browser?.close();
    relay?.close();
    await ts?.close();
    host?.close();
  });

  it(`is recorded without undecodable frames, adding at most ${frozenMax * 100} % frozen time, with no audio gap over ${audioStepMax * 1000} ms`, async () => {
    const interview = await ts.createInterview({ durationSeconds: DURATION_SECONDS });
    const page = await browser.newPage();
    const errors = pageErrors(page);
    // What the recorder's frame gate did, read while the recording runs.
    let frames: Partial<Record<'screen' | 'camera', FrameGateStats>> = {};
    const watching = setInterval(() => {
      void ts.service.sessions
        .get(interview.id)
        ?.recording?.stats()
        .then((stats) => {
          if (stats.relay.screen.frames && stats.relay.camera.frames) frames = { screen: stats.relay.screen.frames, camera: stats.relay.camera.frames };
        })
        .catch(() => {});
    }, 500);
    await pressStart(page, interview.candidateUrl);
    const done = await waitForStatus(ts, interview.id, 'completed', (DURATION_SECONDS + 90) * 1000).finally(() => clearInterval(watching));
    const lost = host.uplinkLosses();
    const label = `${loss * 100} % loss${oneWayMs ? ` + ${2 * oneWayMs} ms RTT` : ''}`;
    console.log(`${label}: ${lost} datagrams dropped on the uplink${relay ? `, ${relay.relayed} through the relay` : ''}; gaps ${JSON.stringify(done.gaps)}; frame gate ${JSON.stringify(frames)}`);
    expect(lost).toBeGreaterThan(100);
    if (relay) expect(relay.relayed).toBeGreaterThan(1000);
    expect(errors).toEqual([]);

    const files = await Promise.all([download(done.screenVideo), download(done.candidateVideo)]);
    for (const [track, file] of [['screen', files[0]], ['camera', files[1]]] as const) {
      const gate = frames[track];
      expect(gate).toBeDefined();
      const probe = await probeFile(file);
      const video = await probePackets(file, 'v:0');
      const audio = await probePackets(file, 'a:0');
      const frozen = frozenShare(video, probe.durationSeconds!);
      // The sender's own pauses (its encoder skipping frames on a busy machine or for bandwidth)
      // arrive frozen already: what the recording adds is the frozen time beyond them.
      const arrivedFrozen = gate!.arrivedFrozenMs / 1000 / probe.durationSeconds!;
      const videoErrors = await decodeErrors(file);
      const audioErrors = await decodeErrors(file, 'a:0');
      const offset = probe.video!.startTime! - probe.audio!.startTime!;
      console.log(
        `${label} ${path.basename(file)}: ${probe.durationSeconds} s, ${probe.video?.width}×${probe.video?.height}, ${video.length} video packets, frozen ${(100 * frozen).toFixed(1)} % (${(100 * arrivedFrozen).toFixed(1)} % as it arrived) ` +
          `(longest step ${largestPtsStep(video).toFixed(3)} s), audio longest step ${largestPtsStep(audio).toFixed(3)} s, A/V start offset ${(offset * 1000).toFixed(0)} ms, decode errors ${videoErrors.length} video / ${audioErrors.length} audio`,
      );
      expect(Math.abs(probe.durationSeconds! - DURATION_SECONDS)).toBeLessThanOrEqual(1.5);
      expect(await hasCues(file)).toBe(true);
      expect(videoErrors).toEqual([]);
      expect(audioErrors).toEqual([]);
      expect(frozen - arrivedFrozen).toBeLessThanOrEqual(frozenMax);
      expect(largestPtsStep(audio)).toBeLessThanOrEqual(audioStepMax);
      // The audio, one stream in both files, starts with the earlier of the two videos; the other
      // file's video follows it by the difference of their first key frames' repairs, at most about
      // one round trip (CI, 3 % + 100 ms RTT: 206 ms). Sync after the start is by timestamps either way.
      expect(Math.abs(offset)).toBeLessThanOrEqual(0.1 + (2 * oneWayMs) / 1000 + 0.05);
    }
  });
});
