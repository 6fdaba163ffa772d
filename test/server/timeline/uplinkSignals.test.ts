import { describe, expect, it } from 'vitest';
import { mediaPathOf } from '../../../server/timeline/mediaPath.ts';
import { PacketLossDetector } from '../../../server/timeline/packetLoss.ts';
import { ResolutionWatch } from '../../../server/timeline/resolution.ts';
import { timelineToWebVtt } from '../../../server/timeline/webVtt.ts';

describe("the candidate's uplink as the timeline sees it", () => {
  it('calls loss high only after it lasted three samples, and recovered only after it stayed low as long', () => {
    const detector = new PacketLossDetector();
    let lost = 0;
    let received = 0;
    const step = (newLost: number, newReceived: number) => detector.sample((lost += newLost), (received += newReceived));
    expect(step(0, 100)).toBeUndefined();
    // One bad sample, then a good one: nothing.
    expect(step(20, 80)).toBeUndefined();
    expect(step(0, 100)).toBeUndefined();
    expect(step(10, 90)).toBeUndefined();
    expect(step(10, 90)).toBeUndefined();
    expect(step(10, 90)).toEqual({ change: 'high', loss: 0.1 });
    // Between the thresholds keeps it high.
    expect(step(3, 97)).toBeUndefined();
    expect(step(1, 99)).toBeUndefined();
    expect(step(1, 99)).toBeUndefined();
    expect(step(1, 99)).toEqual({ change: 'recovered', loss: 0.01 });
    // A new producer's counters start again from zero: no change from that.
    expect(detector.sample(0, 10)).toBeUndefined();
  });

  it('names the media path from the selected tuple, relayed when it comes from a TURN server', () => {
    const turn = new Set(['203.0.113.7']);
    expect(mediaPathOf({ protocol: 'udp', remoteIp: '198.51.100.2' }, turn)).toBe('udp');
    expect(mediaPathOf({ protocol: 'tcp', remoteIp: '198.51.100.2' }, turn)).toBe('tcp');
    expect(mediaPathOf({ protocol: 'udp', remoteIp: '203.0.113.7' }, turn)).toBe('turn-udp');
  });

  it('renders WebVTT cues at the media times, leaving out events before the recording and keeping payloads on one line', () => {
    const vtt = timelineToWebVtt([
      { seq: 1, kind: 'proctor_joined', source: 'server', at: '2026-12-07T10:00:00.000Z', browserAt: null, mediaSeconds: null, details: {} },
      { seq: 2, kind: 'pasted', source: 'candidate', at: '2026-12-07T10:01:05.250Z', browserAt: null, mediaSeconds: 3725.25, details: { note: 'a --> b\n\nc' } },
    ]);
    expect(vtt.startsWith('WEBVTT\n')).toBe(true);
    expect(vtt).toContain('2\n01:02:05.250 --> 01:02:06.250\nPasted\n{');
    expect(vtt).not.toContain('a --> b');
    expect(vtt).not.toContain('proctor_joined');
  });
});

describe("the screen's received resolution as the timeline sees it", () => {
  it('drops below half the largest size seen and recovers at 90 % of it, without flapping in between', () => {
    const watch = new ResolutionWatch();
    expect(watch.observe(1280, 720)).toBeUndefined();
    expect(watch.observe(1280, 720)).toBeUndefined();
    expect(watch.observe(960, 540)).toBeUndefined();
    expect(watch.observe(640, 360)).toEqual({ change: 'dropped', from: { width: 1280, height: 720 } });
    expect(watch.observe(640, 360)).toBeUndefined();
    expect(watch.observe(960, 540)).toBeUndefined();
    expect(watch.observe(1280, 720)).toEqual({ change: 'recovered', from: { width: 1280, height: 720 } });
  });
});
