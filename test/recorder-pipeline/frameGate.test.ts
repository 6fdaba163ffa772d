import { describe, expect, it } from 'vitest';
import { FrameGate } from '../../recorder-pipeline/rtp/FrameGate.ts';
import { sequenceNumber } from '../../recorder-pipeline/rtp/rtpPacket.ts';
import { waitFor } from '../support/testConfig.ts';

const KEY_FRAME_HEADER = 0b1000_0010;
const INTER_FRAME_HEADER = 0b1000_0110;
const HEADER_BYTES = 12;

/** One VP9 packet (non-flexible descriptor, no picture ID): B on a frame's first, E and marker on its last. */
function vp9Packet(seq: number, { start, end, key = false }: { start: boolean; end: boolean; key?: boolean }): Buffer {
  const descriptor = (start ? 0x08 : 0) | (end ? 0x04 : 0);
  const payload = start ? [descriptor, key ? KEY_FRAME_HEADER : INTER_FRAME_HEADER, 0x00] : [descriptor, 0x00];
  const packet = Buffer.alloc(HEADER_BYTES + payload.length);
  packet[0] = 0x80;
  packet[1] = (end ? 0x80 : 0) | 98;
  packet.writeUInt16BE(seq, 2);
  Buffer.from(payload).copy(packet, HEADER_BYTES);
  return packet;
}

/** A frame of `count` packets from `firstSeq`. */
function frame(firstSeq: number, count: number, key = false): Buffer[] {
  return Array.from({ length: count }, (_, index) => vp9Packet((firstSeq + index) & 0xffff, { start: index === 0, end: index === count - 1, key }));
}

function setUp(options: { repairWaitMs?: number; keyFrameWaitMs?: number } = {}) {
  const repairWaitMs = options.repairWaitMs ?? 60_000;
  const forwarded: number[] = [];
  let keyFrameRequests = 0;
  const gate = new FrameGate({
    codec: 'VP9',
    maxRepairWaitMs: repairWaitMs,
    minRepairWaitMs: repairWaitMs,
    keyFrameWaitMs: options.keyFrameWaitMs ?? 60_000,
    forward: (packet) => forwarded.push(sequenceNumber(packet)),
    requestKeyFrame: () => keyFrameRequests++,
  });
  const push = (packets: Buffer[], nowMs = Date.now()) => packets.forEach((packet) => gate.push(packet, sequenceNumber(packet), HEADER_BYTES, nowMs));
  return { gate, forwarded, push, keyFrameRequests: () => keyFrameRequests };
}

describe('the frame gate in front of ffmpeg', () => {
  it('lets whole frames through at once, in order', () => {
    const { gate, forwarded, push } = setUp();
    push(frame(100, 3, true));
    expect(forwarded).toEqual([100, 101, 102]);
    push(frame(103, 1));
    push(frame(104, 2));
    expect(forwarded).toEqual([100, 101, 102, 103, 104, 105]);
    expect(gate.stats).toMatchObject({ framesForwarded: 3, framesGivenUp: 0, packetsDropped: 0 });
  });

  it('holds a frame with a hole until the repair comes, and what follows it behind it', () => {
    const { gate, forwarded, push } = setUp();
    push(frame(0, 1, true));
    const [first, lost, last] = frame(1, 3);
    push([first!, last!]);
    push(frame(4, 1));
    expect(forwarded).toEqual([0]);
    // The NACK repair, after the next frame.
    push([lost!]);
    expect(forwarded).toEqual([0, 1, 2, 3, 4]);
    expect(gate.stats).toMatchObject({ framesForwarded: 3, framesGivenUp: 0, latePackets: 0 });
  });

  it('gives a frame up when its repair does not come in time, drops what depends on it and asks for a key frame', async () => {
    const { gate, forwarded, push, keyFrameRequests } = setUp({ repairWaitMs: 50 });
    push(frame(10, 1, true));
    const [first, , last] = frame(11, 3);
    push([first!, last!]);
    push(frame(14, 2));
    await waitFor(() => gate.stats.framesGivenUp === 1, { timeoutMs: 2000, intervalMs: 5, what: 'the frame given up' });
    expect(keyFrameRequests()).toBe(1);
    expect(gate.stats.framesDroppedUntilKeyFrame).toBe(1);
    expect(gate.stats.longestHoldMs).toBeGreaterThanOrEqual(50);
    // Inter frames until the key frame are dropped; the key frame and what follows go through.
    push(frame(16, 1));
    push(frame(17, 2, true));
    push(frame(19, 1));
    expect(forwarded).toEqual([10, 17, 18, 19]);
    // The hole was waited for once: the frame after it went straight on to the key frame wait.
    expect(gate.stats.framesGivenUp).toBe(1);
    // The repair that came too late is not forwarded.
    push([vp9Packet(12, { start: false, end: false })]);
    expect(gate.stats.latePackets).toBe(1);
    expect(forwarded).toEqual([10, 17, 18, 19]);
    expect(gate.stats).toMatchObject({ framesGivenUp: 1, framesDroppedUntilKeyFrame: 2, framesForwarded: 3, packetsDropped: 6 });
  });

  it('waits for a hole once, however many packets of its frame came before it', async () => {
    const { gate, forwarded, push } = setUp({ repairWaitMs: 50 });
    push(frame(0, 1, true));
    const packets = frame(1, 5);
    push(packets.filter((_, index) => index !== 3));
    push(frame(6, 1));
    await waitFor(() => gate.stats.framesGivenUp === 1, { timeoutMs: 2000, intervalMs: 5, what: 'the frame given up' });
    // The head is past the hole: the next key frame goes straight through.
    push(frame(7, 1, true));
    expect(forwarded).toEqual([0, 7]);
    expect(gate.stats.framesGivenUp).toBe(1);
  });

  it('skips to a whole key frame held behind a hole once its repair is overdue', () => {
    // A 1 s wait: the key frame is asked for (and may be skipped to) after 1.25 × 400 ms.
    const { gate, forwarded, push } = setUp({ repairWaitMs: 1000 });
    push(frame(0, 1, true), 0);
    const [first, , last] = frame(1, 3);
    push([first!, last!], 10);
    push(frame(4, 1), 20);
    push(frame(5, 2, true), 30);
    push(frame(7, 1), 100);
    // Not overdue yet: the repair may still come.
    expect(forwarded).toEqual([0]);
    push(frame(8, 1), 520);
    expect(forwarded).toEqual([0, 5, 6, 7, 8]);
    expect(gate.stats).toMatchObject({ framesGivenUp: 1, keyFrameSkips: 1 });
  });

  it('goes on without a key frame when the sender sends none within the wait', () => {
    const { gate, forwarded, push } = setUp({ repairWaitMs: 0, keyFrameWaitMs: 1000 });
    push(frame(0, 1, true), 0);
    push([vp9Packet(1, { start: true, end: false }), vp9Packet(3, { start: false, end: true })], 10);
    push(frame(4, 1), 20);
    expect(gate.stats.framesGivenUp).toBe(1);
    push(frame(5, 1), 500);
    expect(forwarded).toEqual([0]);
    push(frame(6, 1), 1100);
    expect(forwarded).toEqual([0, 6]);
  });

  it('numbers across the 16-bit wrap and joins a new generation at its first frame start', () => {
    const { gate, forwarded, push } = setUp({ repairWaitMs: 60_000 });
    push(frame(65534, 3, true));
    expect(forwarded).toEqual([65534, 65535, 0]);
    // A frame left incomplete by a producer that went away.
    push([vp9Packet(1, { start: true, end: false })]);
    gate.reset();
    // The next generation's first packets: the tail of a frame, then a key frame.
    push([vp9Packet(2, { start: false, end: true })]);
    push(frame(3, 2, true));
    expect(forwarded).toEqual([65534, 65535, 0, 3, 4]);
    expect(gate.stats.packetsDropped).toBe(2);
  });
});
