import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeSenderReport, senderReports } from '../../recorder-pipeline/rtp/rtcpSenderReport.ts';
import { RtpRelay } from '../../recorder-pipeline/rtp/RtpRelay.ts';
import { sequenceNumber, ssrc, timestamp } from '../../recorder-pipeline/rtp/rtpPacket.ts';
import { waitFor } from '../support/testConfig.ts';
import { testLogger } from '../support/mediaRouter.ts';

const KEY_FRAME_HEADER = 0b1000_0010;
const INTER_FRAME_HEADER = 0b1000_0110;

/** One RTP packet; with the marker bit unless told otherwise (a video frame in one packet ends with it). */
function rtpPacket(options: { payloadType: number; seq: number; ts: number; ssrc: number; payload: number[]; marker?: boolean }): Buffer {
  const packet = Buffer.alloc(12 + options.payload.length);
  packet[0] = 0x80;
  packet[1] = (options.marker === false ? 0 : 0x80) | options.payloadType;
  packet.writeUInt16BE(options.seq, 2);
  packet.writeUInt32BE(options.ts, 4);
  packet.writeUInt32BE(options.ssrc, 8);
  Buffer.from(options.payload).copy(packet, 12);
  return packet;
}

async function listener(): Promise<{ socket: dgram.Socket; port: number; received: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (message) => received.push(message));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, received };
}

describe('the RTP relay between mediasoup and ffmpeg', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  async function setUp() {
    // ffmpeg's RTP and RTCP ports, stood in for by sockets on port and port + 1.
    let video: Awaited<ReturnType<typeof listener>> | undefined;
    let videoRtcp: Awaited<ReturnType<typeof listener>> | undefined;
    for (let attempt = 0; attempt < 20 && !videoRtcp; attempt++) {
      video = await listener();
      videoRtcp = await new Promise((resolve) => {
        const socket = dgram.createSocket('udp4');
        const received: Buffer[] = [];
        socket.on('message', (message) => received.push(message));
        socket.once('error', () => {
          socket.close();
          video!.socket.close();
          resolve(undefined);
        });
        socket.bind(video!.port + 1, '127.0.0.1', () => resolve({ socket, port: video!.port + 1, received }));
      });
    }
    const audio = await listener();
    const relay = await RtpRelay.create({ tracks: [{ track: 'camera', clockRate: 90000 }, { track: 'audio', clockRate: 48000 }], logger: testLogger() });
    relay.route('camera', { codec: 'VP9', payloadType: 98, targetPort: video!.port });
    relay.route('audio', { codec: 'opus', payloadType: 111, targetPort: audio.port });
    const sender = dgram.createSocket('udp4');
    cleanups.push(() => {
      relay.close();
      sender.close();
      for (const socket of [video!.socket, videoRtcp!.socket, audio.socket]) socket.close();
    });
    const send = (track: 'camera' | 'audio', packet: Uint8Array, rtcp = false) => {
      const endpoint = relay.endpoint(track);
      sender.send(packet, rtcp ? endpoint.rtcpPort : endpoint.port, endpoint.ip);
    };
    return { relay, video: video!, videoRtcp: videoRtcp!, audio, send };
  }

  it('holds the audio until the video starts on a key frame, then forwards both', async () => {
    const { relay, video, audio, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.beginGeneration('audio', 2000);
    relay.openOutput({ keyFrameWaitMs: 10_000, videoWaitMs: 10_000 });
    send('audio', rtpPacket({ payloadType: 100, seq: 1, ts: 960, ssrc: 2000, payload: [0xfc, 0x01] }));
    send('camera', rtpPacket({ payloadType: 101, seq: 1, ts: 3000, ssrc: 1000, payload: [0x0c, INTER_FRAME_HEADER, 0x00] }));
    // Held back: audio before any video, video before a key frame (dropped: no key frame).
    await waitFor(() => relay.stats().camera.packetsDropped === 1, { what: 'the held packets' });
    expect(relay.stats().audio.packetsForwarded).toBe(0);
    const started = new Promise((resolve) => relay.once('outputStarted', resolve));
    // Flexible-mode key frame (as Chromium sends for cameras): I=1 P=0 L=1 F=1 B=1 E=1, picture ID, layer index.
    send('camera', rtpPacket({ payloadType: 101, seq: 2, ts: 6000, ssrc: 1000, payload: [0xbc, 0x05, 0x00, KEY_FRAME_HEADER, 0x49] }));
    await waitFor(() => video.received.length === 1, { what: 'the key frame at ffmpeg' });
    send('audio', rtpPacket({ payloadType: 100, seq: 2, ts: 1920, ssrc: 2000, payload: [0xfc, 0x02] }));
    await waitFor(() => audio.received.length === 1, { what: 'audio after the video started' });
    expect(await started).toEqual({ keyFramesOnly: true, waitedMs: expect.any(Number), startedAtMs: expect.any(Number) });
    // The audio that came before the video's start is dropped, not sent late.
    expect(relay.stats().audio.packetsDropped).toBe(1);

    const keyFrame = video.received[0]!;
    expect(keyFrame[1]! & 0x7f).toBe(98);
    // Descriptor rewritten on the wire: F and L cleared, layer index dropped.
    expect([...keyFrame.subarray(12)]).toEqual([0x8c, 0x05, KEY_FRAME_HEADER, 0x49]);
    expect(audio.received[0]![1]! & 0x7f).toBe(111);
    expect([...audio.received[0]!.subarray(12)]).toEqual([0xfc, 0x02]);
  });

  it('keeps the audio that arrived while the first video frame was still coming in', async () => {
    const { relay, video, audio, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.beginGeneration('audio', 2000);
    relay.openOutput({ keyFrameWaitMs: 10_000, videoWaitMs: 10_000 });
    // A key frame in two packets, the audio between them: the frame leaves with its second packet
    // (or, with a hole, after its repair), but the audio came after the frame began.
    send('camera', rtpPacket({ payloadType: 101, seq: 1, ts: 3000, ssrc: 1000, payload: [0x08, KEY_FRAME_HEADER, 0x00], marker: false }));
    await waitFor(() => relay.stats().camera.packetsReceived === 1, { what: 'the first half of the key frame' });
    send('audio', rtpPacket({ payloadType: 100, seq: 1, ts: 960, ssrc: 2000, payload: [0xfc, 0x01] }));
    await waitFor(() => relay.stats().audio.packetsReceived === 1, { what: 'the audio' });
    expect(audio.received).toHaveLength(0);
    send('camera', rtpPacket({ payloadType: 101, seq: 2, ts: 3000, ssrc: 1000, payload: [0x04, 0x11] }));
    await waitFor(() => video.received.length === 2 && audio.received.length === 1, { what: 'the key frame and the audio' });
    expect([...audio.received[0]!.subarray(12)]).toEqual([0xfc, 0x01]);
    expect(relay.stats().audio.packetsDropped).toBe(0);
  });

  it('still sends a video frame begun before the cut once it is whole, and none begun after', async () => {
    // Cutting by send time dropped the repair of a frame lost just before the end, and with it
    // every frame up to the next key frame: the video ended 0.58 s before the audio (CI).
    const { relay, video, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.openOutput({ keyFrameWaitMs: 0, videoWaitMs: 0 });
    send('camera', rtpPacket({ payloadType: 101, seq: 1, ts: 3000, ssrc: 1000, payload: [0x08, KEY_FRAME_HEADER] }));
    await waitFor(() => video.received.length === 1, { what: 'the key frame' });
    // A frame of two packets: the first arrives, the second (its repair) only after the cut.
    send('camera', rtpPacket({ payloadType: 101, seq: 2, ts: 6000, ssrc: 1000, payload: [0x08, INTER_FRAME_HEADER, 0x01], marker: false }));
    await waitFor(() => relay.stats().camera.packetsReceived === 2, { what: 'the frame begun before the cut' });
    relay.cut();
    send('camera', rtpPacket({ payloadType: 101, seq: 3, ts: 6000, ssrc: 1000, payload: [0x04, 0x02] }));
    await waitFor(() => video.received.length === 3, { what: 'the frame completed after the cut' });
    // A frame that began after the cut is not the interview's any more.
    send('camera', rtpPacket({ payloadType: 101, seq: 4, ts: 9000, ssrc: 1000, payload: [0x0c, INTER_FRAME_HEADER, 0x03] }));
    await waitFor(() => relay.stats().camera.packetsReceived === 4, { what: 'the frame after the cut' });
    expect(relay.stats().camera.packetsForwarded).toBe(3);
    expect(video.received).toHaveLength(3);
  });

  it('sends no media once cut, only the nudges that make a stopping ffmpeg read', async () => {
    const { relay, video, audio, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.beginGeneration('audio', 2000);
    relay.openOutput({ keyFrameWaitMs: 0, videoWaitMs: 0 });
    send('camera', rtpPacket({ payloadType: 101, seq: 1, ts: 3000, ssrc: 1000, payload: [0x08, KEY_FRAME_HEADER] }));
    send('audio', rtpPacket({ payloadType: 100, seq: 1, ts: 960, ssrc: 2000, payload: [0xfc, 0x01] }));
    await waitFor(() => video.received.length === 1 && audio.received.length === 1, { what: 'media before the cut' });
    relay.cut();
    send('camera', rtpPacket({ payloadType: 101, seq: 2, ts: 6000, ssrc: 1000, payload: [0x08, INTER_FRAME_HEADER] }));
    send('audio', rtpPacket({ payloadType: 100, seq: 2, ts: 1920, ssrc: 2000, payload: [0xfc, 0x02] }));
    await waitFor(() => relay.stats().camera.packetsReceived === 2 && relay.stats().audio.packetsReceived === 2, { what: 'media after the cut' });
    expect(relay.stats().camera.packetsForwarded).toBe(1);
    expect(relay.stats().audio.packetsForwarded).toBe(1);
    // A nudge still goes out (the last audio packet again, 20 ms on) once nothing was sent lately.
    await waitFor(
      () => {
        relay.nudge();
        return audio.received.length === 2;
      },
      { intervalMs: 50, what: 'a nudge' },
    );
    expect([...audio.received[1]!.subarray(12)]).toEqual([0xfc, 0x01]);
    expect(video.received).toHaveLength(1);
  });

  it('presents a re-published producer as the same stream, with the pause in its timestamps', async () => {
    const { relay, video, videoRtcp, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.openOutput({ keyFrameWaitMs: 0, videoWaitMs: 0 });
    send('camera', rtpPacket({ payloadType: 101, seq: 65535, ts: 1000, ssrc: 1000, payload: [0x08, KEY_FRAME_HEADER] }));
    await waitFor(() => video.received.length === 1, { what: 'generation 1' });
    const generations: number[] = [];
    relay.on('generation', (info) => generations.push(info.gapMs));
    relay.beginGeneration('camera', 5555);
    const pausedAt = Date.now();
    await waitFor(() => Date.now() - pausedAt >= 300, { intervalMs: 10, what: 'a pause' });
    send('camera', rtpPacket({ payloadType: 101, seq: 17, ts: 77_777_777, ssrc: 5555, payload: [0x08, KEY_FRAME_HEADER] }));
    // A straggler of the old generation must not reach ffmpeg.
    send('camera', rtpPacket({ payloadType: 101, seq: 0, ts: 4000, ssrc: 1000, payload: [0x08, INTER_FRAME_HEADER] }));
    send('camera', rtpPacket({ payloadType: 101, seq: 18, ts: 77_780_777, ssrc: 5555, payload: [0x08, INTER_FRAME_HEADER] }));
    await waitFor(() => video.received.length === 3, { what: 'generation 2' });
    // ...and after the old generation's straggler would have arrived, still only three packets.
    expect(relay.stats().camera.packetsDropped).toBe(1);

    const [first, second, third] = video.received as [Buffer, Buffer, Buffer];
    expect(new Set([ssrc(first), ssrc(second), ssrc(third)]).size).toBe(1);
    expect(sequenceNumber(second)).toBe((sequenceNumber(first) + 1) % 65536);
    expect(sequenceNumber(third)).toBe((sequenceNumber(first) + 2) % 65536);
    const gapTicks = (timestamp(second) - timestamp(first) + 2 ** 32) % 2 ** 32;
    expect(gapTicks / 90).toBeGreaterThanOrEqual(300);
    expect(gapTicks / 90).toBeLessThan(1000);
    expect((timestamp(third) - timestamp(second) + 2 ** 32) % 2 ** 32).toBe(3000);
    expect(generations).toHaveLength(1);
    expect(generations[0]).toBeGreaterThanOrEqual(300);

    // Sender Reports: only the current generation's, with the output SSRC and mapped timestamp.
    send('camera', encodeSenderReport({ ssrc: 1000, ntpTime: 1n << 32n, rtpTimestamp: 1000, packetCount: 1, octetCount: 1 }), true);
    send('camera', encodeSenderReport({ ssrc: 5555, ntpTime: 5n << 32n, rtpTimestamp: 77_780_777, packetCount: 2, octetCount: 2 }), true);
    await waitFor(() => videoRtcp.received.length === 1, { what: 'the Sender Report at ffmpeg' });
    const [report] = senderReports(videoRtcp.received[0]!);
    expect(report).toMatchObject({ ssrc: ssrc(first), ntpTime: 5n << 32n, rtpTimestamp: timestamp(third) });
  });

  it('reports a pause on the same producer as a stall and keeps ffmpeg reading with Sender Reports meanwhile', async () => {
    const { relay, video, videoRtcp, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.openOutput({ keyFrameWaitMs: 0, videoWaitMs: 0 });
    send('camera', encodeSenderReport({ ssrc: 1000, ntpTime: 5n << 32n, rtpTimestamp: 1000, packetCount: 1, octetCount: 1 }), true);
    send('camera', rtpPacket({ payloadType: 101, seq: 1, ts: 1000, ssrc: 1000, payload: [0x08, KEY_FRAME_HEADER] }));
    await waitFor(() => video.received.length === 1 && videoRtcp.received.length >= 1, { what: 'the first packet and its Sender Report' });
    const stalls: number[] = [];
    relay.on('stalled', (info) => stalls.push(info.gapMs));
    const reportsBefore = videoRtcp.received.length;
    // The sender goes quiet for longer than STALL_MS (1.5 s): ffmpeg gets the last SR again
    // (ffmpeg 5.1 quits its RTP input after 10 s without a packet).
    await waitFor(() => videoRtcp.received.length > reportsBefore, { timeoutMs: 3000, intervalMs: 50, what: 'a keep-alive Sender Report' });
    const [keepAlive] = senderReports(videoRtcp.received.at(-1)!);
    expect(keepAlive).toMatchObject({ ntpTime: 5n << 32n });
    const quietSince = Date.now();
    await waitFor(() => Date.now() - quietSince >= 1600, { timeoutMs: 3000, intervalMs: 20, what: 'the rest of the pause' });
    send('camera', rtpPacket({ payloadType: 101, seq: 2, ts: 1000 + 90 * 2000, ssrc: 1000, payload: [0x08, INTER_FRAME_HEADER] }));
    await waitFor(() => video.received.length === 2, { what: 'the packet after the pause' });
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeGreaterThanOrEqual(1500);
    // Same producer: the timestamps carry the pause unchanged.
    expect((timestamp(video.received[1]!) - timestamp(video.received[0]!) + 2 ** 32) % 2 ** 32).toBe(180_000);
  });

  it('rewrites a descriptor behind CSRCs and a header extension and leaves the padding behind', async () => {
    const { relay, video, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.openOutput({ keyFrameWaitMs: 0, videoWaitMs: 0 });
    send('camera', rtpPacket({ payloadType: 101, seq: 1, ts: 3000, ssrc: 1000, payload: [0x08, KEY_FRAME_HEADER] }));
    await waitFor(() => video.received.length === 1, { what: 'the key frame' });
    // V=2 P=1 X=1 CC=1, marker set; one CSRC; a one-word header extension; a flexible inter frame
    // (I P L F B E = 1 1 1 1 1 1, 15-bit picture ID, layer index, one P_DIFF); 3 bytes of padding.
    const csrcAndExtension = [0x0a, 0x0b, 0x0c, 0x0d, 0xbe, 0xde, 0x00, 0x01, 0x10, 0x20, 0x30, 0x40];
    const packet = Buffer.from([0x80 | 0x20 | 0x10 | 0x01, 0x80 | 101, 0, 2, 0, 0, 0x17, 0x70, 0, 0, 0x03, 0xe8, ...csrcAndExtension, 0xfc, 0x81, 0x23, 0x00, 0x02, INTER_FRAME_HEADER, 0x55, 0x66, 0x00, 0x00, 0x03]);
    send('camera', packet);
    await waitFor(() => video.received.length === 2, { what: 'the rewritten packet' });
    const [first, forwarded] = video.received as [Buffer, Buffer];
    // Padding bit cleared, X and CC kept; marker kept, payload type rewritten.
    expect(forwarded[0]).toBe(0x80 | 0x10 | 0x01);
    expect(forwarded[1]).toBe(0x80 | 98);
    expect(sequenceNumber(forwarded)).toBe((sequenceNumber(first) + 1) % 65536);
    expect((timestamp(forwarded) - timestamp(first) + 2 ** 32) % 2 ** 32).toBe(3000);
    expect(ssrc(forwarded)).toBe(ssrc(first));
    expect([...forwarded.subarray(12, 24)]).toEqual(csrcAndExtension);
    // F and L cleared, picture ID kept, layer index and P_DIFF dropped, padding gone.
    expect([...forwarded.subarray(24)]).toEqual([0xcc, 0x81, 0x23, INTER_FRAME_HEADER, 0x55, 0x66]);
    expect(relay.stats().camera).toMatchObject({ packetsForwarded: 2, descriptorsRewritten: 1, bytesForwarded: first.length + forwarded.length });
  });

  it('sends to the new ffmpeg only once it is routed there, from the first packet on', async () => {
    const { relay, video, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.openOutput({ keyFrameWaitMs: 0, videoWaitMs: 0 });
    send('camera', rtpPacket({ payloadType: 101, seq: 1, ts: 3000, ssrc: 1000, payload: [0x08, KEY_FRAME_HEADER] }));
    send('camera', rtpPacket({ payloadType: 101, seq: 2, ts: 6000, ssrc: 1000, payload: [0x08, INTER_FRAME_HEADER] }));
    await waitFor(() => video.received.length === 2, { what: 'packets at the first ffmpeg' });
    // ffmpeg restarts on another port: routed and opened in one go, packets right behind.
    const next = await listener();
    cleanups.push(() => next.socket.close());
    relay.holdOutput();
    relay.route('camera', { codec: 'VP9', payloadType: 98, targetPort: next.port });
    relay.openOutput({ keyFrameWaitMs: 0, videoWaitMs: 0 });
    for (let seq = 3; seq < 13; seq++) send('camera', rtpPacket({ payloadType: 101, seq, ts: seq * 3000, ssrc: 1000, payload: [0x08, seq === 3 ? KEY_FRAME_HEADER : INTER_FRAME_HEADER] }));
    await waitFor(() => next.received.length === 10, { what: 'every packet at the new ffmpeg' });
    for (let seq = 13; seq < 23; seq++) send('camera', rtpPacket({ payloadType: 101, seq, ts: seq * 3000, ssrc: 1000, payload: [0x08, INTER_FRAME_HEADER] }));
    await waitFor(() => next.received.length === 20, { what: 'the packets after the switch' });
    const sequenceNumbers = next.received.map((packet) => sequenceNumber(packet));
    expect(sequenceNumbers).toEqual(sequenceNumbers.map((_, index) => (sequenceNumbers[0]! + index) % 65536));
    expect(video.received).toHaveLength(2);
    expect(relay.stats().camera.packetsForwarded).toBe(22);
  });

  it('keeps relaying when the ffmpeg port refuses packets until ffmpeg listens there', async () => {
    const { relay, send } = await setUp();
    // A port nobody listens on: each packet comes back as an ICMP port unreachable.
    const probe = await listener();
    const port = probe.port;
    probe.socket.close();
    relay.route('camera', { codec: 'VP9', payloadType: 98, targetPort: port });
    relay.beginGeneration('camera', 1000);
    relay.openOutput({ keyFrameWaitMs: 0, videoWaitMs: 0 });
    let seq = 1;
    const sendFrame = () => send('camera', rtpPacket({ payloadType: 101, seq: seq++, ts: seq * 3000, ssrc: 1000, payload: [0x08, seq === 2 ? KEY_FRAME_HEADER : INTER_FRAME_HEADER] }));
    for (let index = 0; index < 5; index++) sendFrame();
    await waitFor(() => relay.stats().camera.packetsForwarded === 5, { what: 'packets sent into the refusing port' });
    const late = dgram.createSocket('udp4');
    const received: Buffer[] = [];
    late.on('message', (message) => received.push(message));
    await new Promise<void>((resolve) => late.bind(port, '127.0.0.1', resolve));
    cleanups.push(() => late.close());
    await waitFor(
      () => {
        sendFrame();
        return received.length >= 3;
      },
      { intervalMs: 20, what: 'packets once ffmpeg listens' },
    );
    expect(relay.stats().camera.packetsDropped).toBe(0);
  });

  it('starts a video that never sends a key frame on a frame start once the wait is over', async () => {
    const { relay, video, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.openOutput({ keyFrameWaitMs: 150, videoWaitMs: 150 });
    const openedAt = Date.now();
    send('camera', rtpPacket({ payloadType: 101, seq: 1, ts: 3000, ssrc: 1000, payload: [0x08, INTER_FRAME_HEADER] }));
    await waitFor(() => Date.now() - openedAt > 150, { intervalMs: 10, what: 'the key frame wait' });
    // A middle packet of a frame (B=0) is not a place to start.
    send('camera', rtpPacket({ payloadType: 101, seq: 2, ts: 3000, ssrc: 1000, payload: [0x04, 0x11] }));
    send('camera', rtpPacket({ payloadType: 101, seq: 3, ts: 6000, ssrc: 1000, payload: [0x08, INTER_FRAME_HEADER] }));
    await waitFor(() => video.received.length === 1, { what: 'the first frame after the wait' });
    expect([...video.received[0]!.subarray(12)]).toEqual([0x08, INTER_FRAME_HEADER]);
  });

  it('lets the audio start alone when the video sends nothing within the wait', async () => {
    const { relay, audio, send } = await setUp();
    relay.beginGeneration('camera', 1000);
    relay.beginGeneration('audio', 2000);
    // A wait long enough that the first packet arrives within it even on a stalled event loop.
    relay.openOutput({ keyFrameWaitMs: 50, videoWaitMs: 1000 });
    const openedAt = Date.now();
    send('audio', rtpPacket({ payloadType: 100, seq: 1, ts: 960, ssrc: 2000, payload: [0xfc, 0x01] }));
    await waitFor(() => relay.stats().audio.packetsReceived === 1, { what: 'the held audio packet' });
    expect(relay.stats().audio.packetsForwarded).toBe(0);
    await waitFor(() => Date.now() - openedAt > 1000, { intervalMs: 10, what: 'the video wait' });
    send('audio', rtpPacket({ payloadType: 100, seq: 2, ts: 1920, ssrc: 2000, payload: [0xfc, 0x02] }));
    await waitFor(() => audio.received.length === 1, { what: 'audio without video' });
    expect([...audio.received[0]!.subarray(12)]).toEqual([0xfc, 0x02]);
    // The held packet is older than the start: dropped.
    expect(relay.stats().audio.packetsDropped).toBe(1);
  });
});
