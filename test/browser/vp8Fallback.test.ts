// A browser that cannot send VP9 (older Safari): the page falls back to VP8 and the recorder stores
// VP8 WebM with the same guarantees — both files decode, shared audio, seekable. Chromium plays
// that browser here with VP9 taken out of every SDP offer it makes (which is where mediasoup-client
// reads the browser's sending capabilities from).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, launchBrowser, pressStart, pageErrors, type TestBrowser } from '../support/browser.ts';
import { decodeErrors, hasCues, largestPtsStep, probeFile, probePackets } from '../support/ffprobe.ts';
import { audioPacketHashes, download, sharedAudioRun, waitForStatus } from '../support/recordedInterview.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const DURATION_SECONDS = 20;

/** Runs in the page before its scripts: VP9 (and its RTX) disappear from every offer and from getCapabilities. */
function withoutVp9(): void {
  const strip = (sdp: string): string => {
    const lines = sdp.split('\r\n');
    const vp9 = new Set(lines.flatMap((line) => /^a=rtpmap:(\d+) VP9\//i.exec(line)?.[1] ?? []));
    for (const line of lines) {
      const rtx = /^a=fmtp:(\d+) apt=(\d+)/.exec(line);
      if (rtx && vp9.has(rtx[2]!)) vp9.add(rtx[1]!);
    }
    return lines
      .filter((line) => {
        const attribute = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)/.exec(line);
        return !(attribute && vp9.has(attribute[1]!));
      })
      .map((line) => (line.startsWith('m=video') ? line.split(' ').filter((part, index) => index < 3 || !vp9.has(part)).join(' ') : line))
      .join('\r\n');
  };
  const createOffer = RTCPeerConnection.prototype.createOffer as (this: RTCPeerConnection, options?: RTCOfferOptions) => Promise<RTCSessionDescriptionInit>;
  RTCPeerConnection.prototype.createOffer = async function (this: RTCPeerConnection, options?: RTCOfferOptions) {
    const offer = await createOffer.call(this, options);
    return { type: offer.type, sdp: strip(offer.sdp ?? '') };
  } as typeof RTCPeerConnection.prototype.createOffer;
  const getCapabilities = RTCRtpSender.getCapabilities.bind(RTCRtpSender);
  RTCRtpSender.getCapabilities = (kind: string) => {
    const capabilities = getCapabilities(kind);
    return capabilities && { ...capabilities, codecs: capabilities.codecs.filter((codec) => !/vp9/i.test(codec.mimeType)) };
  };
}

describe('a candidate whose browser cannot send VP9', () => {
  let ts: TestService;
  let browser: TestBrowser;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });

  it('is recorded as two VP8 + Opus WebM files of the interview length, seekable, decodable, with the same audio', async () => {
    const interview = await ts.createInterview({ durationSeconds: DURATION_SECONDS });
    const page = await browser.newPage();
    const errors = pageErrors(page);
    await page.addInitScript(withoutVp9);
    await pressStart(page, interview.candidateUrl);
    await waitForStatus(ts, interview.id, 'live', 20_000);
    const room = ts.service.sessions.get(interview.id)?.room!;
    for (const track of ['screen', 'camera'] as const) expect(room.getProducer(track)!.rtpParameters.codecs[0]!.mimeType).toBe('video/VP8');

    const done = await waitForStatus(ts, interview.id, 'completed', (DURATION_SECONDS + 60) * 1000);
    expect(errors).toEqual([]);
    const files = await Promise.all([download(done.screenVideo), download(done.candidateVideo)]);
    for (const file of files) {
      const probe = await probeFile(file);
      const video = await probePackets(file, 'v:0');
      const offset = probe.video!.startTime! - probe.audio!.startTime!;
      console.log(
        `VP8 ${path.basename(file)}: ${probe.durationSeconds} s, ${probe.video?.width}×${probe.video?.height} ${probe.video?.codecName}, ${video.length} video packets (${video.filter((packet) => packet.keyFrame).length} key), ` +
          `longest video step ${largestPtsStep(video).toFixed(3)} s, A/V start offset ${(offset * 1000).toFixed(0)} ms`,
      );
      expect(probe.video?.codecName).toBe('vp8');
      expect(probe.audio?.codecName).toBe('opus');
      expect(Math.abs(probe.durationSeconds! - DURATION_SECONDS)).toBeLessThanOrEqual(1.5);
      expect(Math.abs(offset)).toBeLessThan(0.1);
      expect(await hasCues(file)).toBe(true);
      // Seek points: the recorder's periodic key frame requests reach VP8 too.
      expect(video.filter((packet) => packet.keyFrame).length).toBeGreaterThanOrEqual(DURATION_SECONDS / 4);
      expect(await decodeErrors(file)).toEqual([]);
    }
    const [screenAudio = [], candidateAudio = []] = await Promise.all(files.map(audioPacketHashes));
    expect(screenAudio.length).toBeGreaterThan(DURATION_SECONDS * 40);
    expect(sharedAudioRun(screenAudio, candidateAudio)).toBeGreaterThan(0.98 * Math.min(screenAudio.length, candidateAudio.length));
  });
});
