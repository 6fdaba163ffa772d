import { describe, expect, it } from 'vitest';
import { mediaSecondsAt, type SegmentTime } from '../../../server/timeline/mediaTime.ts';
import { ReportAllowance } from '../../../server/timeline/ReportAllowance.ts';

const t0 = Date.parse('2026-12-07T10:00:00.000Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000);

describe("an event's media time", () => {
  const segments: SegmentTime[] = [
    // 0–20 s recorded, then the service was down 20–50 s (cut by the concat), then recording again.
    { index: 0, mediaStartedAt: at(0), seconds: 20 },
    { index: 1, mediaStartedAt: at(50), seconds: 30 },
  ];

  it('is null before the recording began', () => {
    expect(mediaSecondsAt(at(-1), segments)).toBeNull();
    expect(mediaSecondsAt(at(5), [])).toBeNull();
  });

  it('is the time since the media began within the first segment', () => {
    expect(mediaSecondsAt(at(12.5), segments)).toBe(12.5);
  });

  it('lands at the cut for an instant in the down time between segments', () => {
    expect(mediaSecondsAt(at(35), segments)).toBe(20);
  });

  it('counts the earlier segments by their measured length, not by wall-clock time, after a restart', () => {
    expect(mediaSecondsAt(at(60), segments)).toBe(30);
  });

  it('runs on in the last segment while it is written (no length yet), and stops at its end once measured', () => {
    expect(mediaSecondsAt(at(60), [segments[0]!, { index: 1, mediaStartedAt: at(50), seconds: undefined }])).toBe(30);
    expect(mediaSecondsAt(at(200), segments)).toBe(50);
  });

  it('skips a segment whose media never flowed', () => {
    expect(mediaSecondsAt(at(60), [segments[0]!, { index: 1, mediaStartedAt: undefined, seconds: 0 }, { index: 2, mediaStartedAt: at(50), seconds: 30 }])).toBe(30);
  });
});

describe("a candidate page's report allowance", () => {
  it('lets a burst through, then the rate, and never more than the cap', () => {
    let now = 0;
    const allowance = new ReportAllowance({ ratePerSecond: 10, burst: 50, maxEvents: 70 }, 0, () => now);
    let taken = 0;
    for (let i = 0; i < 200; i++) if (allowance.take()) taken++;
    expect(taken).toBe(50);
    now += 1000;
    taken = 0;
    for (let i = 0; i < 200; i++) if (allowance.take()) taken++;
    expect(taken).toBe(10);
    now += 60_000;
    taken = 0;
    for (let i = 0; i < 200; i++) if (allowance.take()) taken++;
    expect(taken).toBe(10);
  });

  it('counts what was stored before (a restart gives no fresh allowance)', () => {
    const allowance = new ReportAllowance({ ratePerSecond: 10, burst: 50, maxEvents: 2000 }, 2000);
    expect(allowance.take()).toBe(false);
  });
});
