import { describe, expect, it } from 'vitest';
import { encodeSenderReport, senderReports } from '../../recorder-pipeline/rtp/rtcpSenderReport.ts';
import { StreamContinuity } from '../../recorder-pipeline/rtp/StreamContinuity.ts';

describe('stream continuity across producer generations', () => {
  it('passes the first generation through with constant offsets', () => {
    const stream = new StreamContinuity({ clockRate: 90000, outputSsrc: 0xabcdef01, firstSequenceNumber: 100, firstTimestamp: 5000 });
    stream.beginGeneration(111);
    expect(stream.map(111, 40000, 1_000_000, 0)).toEqual({ sequenceNumber: 100, timestamp: 5000 });
    expect(stream.map(111, 40001, 1_003_000, 33)).toEqual({ sequenceNumber: 101, timestamp: 8000 });
  });

  it('continues sequence numbers and advances timestamps by the wall-clock gap when a new generation starts', () => {
    const stream = new StreamContinuity({ clockRate: 90000, outputSsrc: 1, firstSequenceNumber: 10, firstTimestamp: 1000 });
    stream.beginGeneration(111);
    stream.map(111, 500, 90_000, 0);
    stream.map(111, 501, 93_000, 1_000);
    // Reload: new SSRC, unrelated sequence number and timestamp, 2.5 s later.
    stream.beginGeneration(222);
    const first = stream.map(222, 7, 4_000_000_000, 3_500)!;
    expect(first.sequenceNumber).toBe(12);
    expect(first.timestamp).toBe(1000 + 3000 + 2.5 * 90000);
    expect(first.gapMs).toBe(2500);
    expect(stream.map(222, 8, 4_000_003_000, 3_533)).toEqual({ sequenceNumber: 13, timestamp: first.timestamp + 3000 });
  });

  it('wraps sequence numbers and timestamps modulo 2^16 and 2^32', () => {
    const stream = new StreamContinuity({ clockRate: 48000, outputSsrc: 1, firstSequenceNumber: 65535, firstTimestamp: 0xffffff00 });
    stream.beginGeneration(5);
    stream.map(5, 0, 0, 0);
    expect(stream.map(5, 1, 960, 20)).toEqual({ sequenceNumber: 0, timestamp: 0xffffff00 + 960 - 0x100000000 });
    stream.beginGeneration(6);
    // 1 s gap at 48 kHz after timestamp 704 (wrapped).
    expect(stream.map(6, 30000, 12345, 1020)).toMatchObject({ sequenceNumber: 1, timestamp: 704 + 48000, gapMs: 1000 });
  });

  it('drops packets of retired and unknown SSRCs', () => {
    const stream = new StreamContinuity({ clockRate: 90000, outputSsrc: 1 });
    expect(stream.map(111, 1, 1, 0)).toBeUndefined();
    stream.beginGeneration(111);
    stream.map(111, 1, 1, 0);
    stream.beginGeneration(222);
    expect(stream.map(111, 2, 3001, 10)).toBeUndefined();
    expect(stream.isRetired(111)).toBe(true);
    expect(stream.map(333, 2, 3001, 10)).toBeUndefined();
  });

  it('maps Sender Report timestamps with the generation that sent them', () => {
    const stream = new StreamContinuity({ clockRate: 90000, outputSsrc: 1, firstSequenceNumber: 0, firstTimestamp: 100 });
    stream.beginGeneration(111);
    // No packet yet: nothing to map the report to.
    expect(stream.mapSenderReportTimestamp(111, 50)).toBeUndefined();
    stream.map(111, 9, 1000, 0);
    expect(stream.mapSenderReportTimestamp(111, 4000)).toBe(3100);
    expect(stream.mapSenderReportTimestamp(222, 4000)).toBeUndefined();
  });
});

describe('RTCP Sender Reports', () => {
  it('are found in a compound packet and re-encoded alone', () => {
    const sr = encodeSenderReport({ ssrc: 0x11223344, ntpTime: 0xe1234567_89abcdefn, rtpTimestamp: 0xdeadbeef, packetCount: 7, octetCount: 9000 });
    // SR followed by an SDES chunk and a BYE, as a compound packet.
    const sdes = Uint8Array.from([0x81, 202, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, 0x01, 0x01, 0x61, 0x00]);
    const bye = Uint8Array.from([0x81, 203, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]);
    const compound = Uint8Array.from([...sr, ...sdes, ...bye]);
    const reports = senderReports(compound);
    expect(reports).toEqual([{ ssrc: 0x11223344, ntpTime: 0xe1234567_89abcdefn, rtpTimestamp: 0xdeadbeef, packetCount: 7, octetCount: 9000 }]);
    expect(senderReports(bye)).toEqual([]);
    expect(sr.length).toBe(28);
    expect([...sr.subarray(0, 4)]).toEqual([0x80, 200, 0, 6]);
  });
});
