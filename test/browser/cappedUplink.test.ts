// The candidate's uplink is capped at 1.5 Mbit/s — less than the 2.5 + 1.5 Mbit/s the page asks
// for screen and camera — by tc tbf on a host of its own (a network namespace; this kernel has no
// netem, and only the candidate's side is shaped). The page's encoders keep the screen's
// resolution (detail / maintain-resolution) and give up framerate, the camera may shrink, and the
// audio goes on.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pressStart, pageErrors, type TestBrowser } from '../support/browser.ts';
import { startCandidateHostBed, type CandidateHost } from '../support/candidateHost.ts';
import { decodeErrors, hasCues, largestPtsStep, probeFile, probePackets } from '../support/ffprobe.ts';
import { download, waitForStatus } from '../support/recordedInterview.ts';
import type { TestService } from '../support/testService.ts';

const run = promisify(execFile);
const DURATION_SECONDS = 20;

/** Each decoded video frame's size, in order (a resolution change shows here, not in the header). */
async function frameSizes(file: string): Promise<Array<{ width: number; height: number }>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=width,height', '-of', 'csv=p=0', file], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [width, height] = line.split(',').map(Number);
      return { width: width!, height: height! };
    });
}

/** Keeps every RTCPeerConnection the page makes, so the test can read the screen sender's statistics. */
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

interface ScreenSample {
  at: number;
  /**
   * Frames the screen track delivered, counted on a clone of it (MediaStreamTrackProcessor): the
   * sender's own media-source count follows what the encoder asks for (a maxFramerate lowers it).
   */
  captured: number;
  framesEncoded: number;
  qualityLimitationDurations: Record<string, number>;
}

/** The screen sender's counters now (the video sender whose track is the screen: contentHint 'detail'), or undefined. */
function sampleScreen(page: Page): Promise<ScreenSample | undefined> {
  return page.evaluate(async () => {
    const senders = (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections
      .flatMap((pc) => (pc.signalingState === 'closed' ? [] : pc.getSenders()))
      .filter((sender) => sender.track?.kind === 'video' && sender.track.contentHint === 'detail' && sender.track.readyState === 'live');
    const sender = senders[senders.length - 1];
    if (!sender) return undefined;
    const counter = window as unknown as { screenFrames?: { track: MediaStreamTrack; count: number } };
    if (counter.screenFrames?.track !== sender.track) {
      const state = { track: sender.track!, count: 0 };
      counter.screenFrames = state;
      const Processor = (window as unknown as { MediaStreamTrackProcessor: new (init: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> } }).MediaStreamTrackProcessor;
      const reader = new Processor({ track: sender.track!.clone() }).readable.getReader();
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          value.close();
          state.count++;
        }
      })();
      return undefined;
    }
    const stats = [...(await sender.getStats()).values()] as Array<Record<string, unknown>>;
    const outbound = stats.find((stat) => stat.type === 'outbound-rtp');
    if (!outbound) return undefined;
    return {
      at: performance.now(),
      captured: counter.screenFrames.count,
      framesEncoded: Number(outbound.framesEncoded ?? 0),
      qualityLimitationDurations: (outbound.qualityLimitationDurations ?? {}) as Record<string, number>,
    };
  });
}

describe('a candidate whose uplink is capped', () => {
  let host: CandidateHost;
  let ts: TestService;
  let browser: TestBrowser;
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    // A /24 of its own per run (parallel files and a second checkout do not share one).
    ({ host, ts, browser, close } = await startCandidateHostBed());
  });

  afterAll(() => close());

  // Chromium's fake screen and camera send ≈ 1.56 Mbit/s on average uncapped (measured), so at
  // 1.5 Mbit/s the cap binds only at peaks (key frames); 800 kbit/s binds throughout (≤ 880
  // kbit/s through the cap cannot happen without it). Before the relay's frame gate, at 600
  // kbit/s 2 undecodable frames and a 0.4 s audio hole reached the files; at 800 now: 0 decode
  // errors, screen 1280×720 at 18 fps, longest audio step 140 ms alone, up to 298 ms in a full
  // suite's load (the cap's queue holds audio behind the screen's bursts), so the bound is 350 ms.
  it.each([1500, 800])('at %i kbit/s keeps the screen at full resolution and near the frame rate it captures (15 fps or more when it captures 19), with the audio going on and no gap', async (UPLINK_KBIT) => {
    host.capUplink(UPLINK_KBIT);
    const before = host.uplinkStats();
    const interview = await ts.createInterview({ durationSeconds: DURATION_SECONDS });
    const page = await browser.newPage();
    await page.addInitScript(keepPeerConnections);
    const errors = pageErrors(page);
    await pressStart(page, interview.candidateUrl);
    // The screen's own frame rate in this run, read from the page while it sends: on a loaded machine
    // the fake screen itself runs slower, which no uplink cap can make up for.
    const samples: ScreenSample[] = [];
    let ended = false;
    const sampling = (async () => {
      while (!ended) {
        const sample = await sampleScreen(page).catch(() => undefined);
        if (sample) samples.push(sample);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    const done = await waitForStatus(ts, interview.id, 'completed', (DURATION_SECONDS + 90) * 1000).finally(() => (ended = true));
    await sampling;
    const after = host.uplinkStats();
    const shaped = { sentBytes: after.sentBytes - before.sentBytes, dropped: after.dropped - before.dropped };
    const uplinkKbit = (shaped.sentBytes * 8) / 1000 / DURATION_SECONDS;
    console.log(`capped uplink ${UPLINK_KBIT} kbit/s: ${Math.round(uplinkKbit)} kbit/s sent through the cap on average, ${shaped.dropped} packets dropped by it; gaps ${JSON.stringify(done.gaps)}`);
    const [first, last] = [samples[0], samples[samples.length - 1]];
    expect(first && last && last.at - first.at >= 10_000, `screen statistics over 10 s or more (${samples.length} samples)`).toBe(true);
    const seconds = (last!.at - first!.at) / 1000;
    const capturedFps = (last!.captured - first!.captured) / seconds;
    const encodedFps = (last!.framesEncoded - first!.framesEncoded) / seconds;
    console.log(
      `capped uplink ${UPLINK_KBIT} kbit/s screen source: captured ${capturedFps.toFixed(1)} fps, encoded ${encodedFps.toFixed(1)} fps over ${seconds.toFixed(1)} s; ` +
        `quality limited (s) ${JSON.stringify(last!.qualityLimitationDurations)}`,
    );
    // The media went through the cap (the fake media averages 1.56 Mbit/s uncapped), and no faster than it.
    expect(uplinkKbit).toBeGreaterThan(UPLINK_KBIT * 0.6);
    expect(uplinkKbit).toBeLessThan(UPLINK_KBIT * 1.1);
    // A short uplink costs quality, never a hole in the recording.
    expect(done.gaps).toEqual([]);
    expect(errors).toEqual([]);

    const [screenFile, candidateFile] = await Promise.all([download(done.screenVideo), download(done.candidateVideo)]);
    for (const file of [screenFile, candidateFile]) {
      const probe = await probeFile(file);
      const video = await probePackets(file, 'v:0');
      const audio = await probePackets(file, 'a:0');
      const sizes = await frameSizes(file);
      const distinct = [...new Set(sizes.map((size) => `${size.width}×${size.height}`))];
      const fps = video.length / probe.durationSeconds!;
      const errorsInFile = await decodeErrors(file);
      console.log(
        `capped uplink ${UPLINK_KBIT} kbit/s ${path.basename(file)}: ${probe.durationSeconds} s, frame sizes ${distinct.join(', ')}, ${fps.toFixed(1)} fps, ` +
          `longest video step ${largestPtsStep(video).toFixed(3)} s, ${audio.length} audio packets (longest step ${largestPtsStep(audio).toFixed(3)} s), ${errorsInFile.length} decode errors`,
      );
      expect(Math.abs(probe.durationSeconds! - DURATION_SECONDS)).toBeLessThanOrEqual(1.5);
      expect(await hasCues(file)).toBe(true);
      expect(errorsInFile).toEqual([]);
      // Audio goes on: no hole a listener would notice, and (nearly) every 20 ms frame there.
      expect(largestPtsStep(audio)).toBeLessThan(0.35);
      expect(audio.length).toBeGreaterThan(0.95 * 50 * probe.durationSeconds!);
      if (file === screenFile) {
        // The screen never gives up resolution for bandwidth; framerate may drop a little: 18–20 fps
        // measured alone, where the fake screen itself runs about 20. Under load the source itself
        // runs slower (Chromium's capture and encoder share the machine), so the bound is what the
        // cap may cost: at least 15 fps, or 80 % of what the screen captured in this run when that
        // was under 19 fps — and every frame the page encoded reached the file.
        expect(distinct).toEqual(['1280×720']);
        expect(fps).toBeGreaterThanOrEqual(Math.min(15, 0.8 * capturedFps));
        expect(fps).toBeGreaterThanOrEqual(0.9 * encodedFps);
      }
    }
  });
});
