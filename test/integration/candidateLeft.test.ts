import { describe, expect, it } from 'vitest';
import { publishSynthetic, recordThenLeave, useSyntheticScene, waitForStatus } from '../support/recordedInterview.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService } from '../support/testService.ts';

describe('a candidate who leaves', () => {
  const scene = useSyntheticScene();

  it('opens a gap "candidate left" when their tracks close, not when the empty room idles out, and it ends when media flows again', async () => {
    // Before: the gap began when the idle room closed (here 3 s later; 60 s by default) with cause "candidate reconnected".
    const t = (scene.t = await startTestService({ ROOM_IDLE_SECONDS: '3' }));
    const interview = await t.createInterview({ durationSeconds: 120 });
    const leftAt = await recordThenLeave(t, interview.id, scene);
    await waitFor(() => t.service.sessions.get(interview.id)?.room === undefined, { timeoutMs: 10_000, what: 'the empty room to idle out' });
    expect(Date.now() - leftAt).toBeGreaterThan(2500);

    scene.publisher = await publishSynthetic(t, interview.id);
    const backAt = Date.now();
    await waitFor(async () => {
      const recording = await t.service.sessions.get(interview.id)?.recording;
      return recording && (await recording.stats()).bytesWritten.screen > 50_000;
    }, { timeoutMs: 20_000, what: 'media recorded again' });
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    const done = await waitForStatus(t, interview.id, 'completed', 60_000);

    expect(done.gaps).toHaveLength(1);
    const gap = done.gaps[0]!;
    expect(gap.cause).toBe('candidate left');
    expect(Math.abs(Date.parse(gap.start) - leftAt)).toBeLessThan(1000);
    expect(Date.parse(gap.end!)).toBeGreaterThanOrEqual(backAt - 100);
    expect(Date.parse(gap.end!) - backAt).toBeLessThan(5000);
  });

  it('keeps the gap open to the end of the interview when the candidate never comes back', async () => {
    const t = (scene.t = await startTestService({ ROOM_IDLE_SECONDS: '2' }));
    const interview = await t.createInterview({ durationSeconds: 120 });
    const leftAt = await recordThenLeave(t, interview.id, scene);
    await waitFor(() => t.service.sessions.get(interview.id)?.room === undefined, { timeoutMs: 10_000, what: 'the empty room to idle out' });
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    const done = await waitForStatus(t, interview.id, ['completed', 'failed'], 60_000);
    expect(done.gaps).toEqual([{ start: expect.any(String), end: done.completedAt, cause: 'candidate left' }]);
    expect(Math.abs(Date.parse(done.gaps[0]!.start) - leftAt)).toBeLessThan(1000);
  });
});
