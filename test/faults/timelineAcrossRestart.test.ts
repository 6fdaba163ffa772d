// The timeline across a service restart mid-interview (a deploy: the service closes and starts
// again on the same DATA_DIR). The log keeps what was stored before, its seq goes on, and an event
// after the restart lands at its true position in the finalized files, although the concat cut the
// service's down time out of them: measured against the downloaded screen.webm.
import fs from 'node:fs';
import { setTimeout as pause } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../shared/timeline.ts';
import { probeFile } from '../support/ffprobe.ts';
import { download, publishSynthetic, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';
import { connect, request, type RawSocket } from '../signaling/signalingClient.ts';

/** How long the service stays down: the stretch the final files must not contain. */
const DOWN_MS = 4000;

describe("an interview's timeline across a service restart", () => {
  const dataDir = tempDir('timeline-restart-');
  let t: TestService | undefined;
  let publisher: SyntheticPublisher | undefined;
  let candidate: RawSocket | undefined;
  afterAll(async () => {
    candidate?.disconnect();
    await publisher?.close();
    await t?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const eventsOf = async (id: string): Promise<TimelineEvent[]> => (await t!.api<TimelineEvent[]>('GET', `/api/interviews/${id}/events`)).body;
  const report = async (id: string, token: string, kind: string): Promise<void> => {
    candidate?.disconnect();
    candidate = await connect(t!.url, token);
    expect((await request(candidate, 'join', { interviewId: id })).ok).toBe(true);
    expect(await request(candidate, 'reportEvent', { kind, at: Date.now() })).toEqual({ ok: true, data: { accepted: true } });
  };

  it('keeps the log, goes on with its seq, and puts an event after the restart where it is in the finalized files', async () => {
    t = await startTestService({ DATA_DIR: dataDir });
    const interview = await t.createInterview({ durationSeconds: 300 });
    publisher = await publishSynthetic(t, interview.id);
    await waitForRecordedBytes(t, interview.id, 150_000);
    await report(interview.id, interview.candidateToken, 'tab_hidden');
    await waitForRecordedBytes(t, interview.id, 2_000_000);
    const before = await eventsOf(interview.id);
    const hidden = before.find((event) => event.kind === 'tab_hidden')!;
    expect(hidden.mediaSeconds).toBeGreaterThan(0);

    // The deploy: the page and the service go; the service is down for DOWN_MS; both come back.
    candidate?.disconnect();
    candidate = undefined;
    await publisher.close();
    publisher = undefined;
    await t.close({ keepDataDir: true });
    t = undefined;
    await pause(DOWN_MS);
    t = await startTestService({ DATA_DIR: dataDir });
    publisher = await publishSynthetic(t, interview.id);
    await waitForRecordedBytes(t, interview.id, 1_000_000);
    await report(interview.id, interview.candidateToken, 'pasted');
    const live = (await eventsOf(interview.id)).find((event) => event.kind === 'pasted')!;
    // Seconds of recording after it, so the end is well away from it.
    await waitForRecordedBytes(t, interview.id, 3_000_000);
    expect((await t.api('POST', `/api/interviews/${interview.id}/end`, {})).status).toBe(200);
    const done = await waitForStatus(t, interview.id, 'completed', 120_000);

    // The log: everything from before the restart, unchanged but for its final media times; seq 1..n.
    const after = await eventsOf(interview.id);
    expect(after.map((event) => event.seq)).toEqual(after.map((_, i) => i + 1));
    for (const event of before) expect(after.find((stored) => stored.seq === event.seq)).toMatchObject({ kind: event.kind, at: event.at, details: event.details });
    expect(after.filter((event) => event.kind === 'recording_gap').map((event) => event.details.cause)).toContain('service restarted');
    const pasted = after.find((event) => event.kind === 'pasted')!;
    expect(pasted.seq).toBeGreaterThan(hidden.seq);

    // Where "pasted" is in the final file: the file ends at the end, and from the restart on
    // nothing was cut, so it lies (end − pasted.at) before the file's end.
    const screen = await download(done.screenVideo);
    const duration = (await probeFile(screen)).durationSeconds!;
    const position = duration - (Date.parse(done.completedAt!) - Date.parse(pasted.at)) / 1000;
    console.log(
      `restart: file ${duration.toFixed(2)} s; "pasted" in the file at ${position.toFixed(2)} s, stored ${pasted.mediaSeconds} s (live estimate ${live.mediaSeconds} s); ` +
        `wall time since "tab_hidden" ${((Date.parse(pasted.at) - Date.parse(hidden.at)) / 1000).toFixed(2)} s`,
    );
    expect(duration - position).toBeGreaterThan(2);
    expect(Math.abs(pasted.mediaSeconds! - position)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(live.mediaSeconds! - position)).toBeLessThanOrEqual(1);
    // The down time is not in the files: the media time between the two events is shorter than the wall time by it.
    const wall = (Date.parse(pasted.at) - Date.parse(hidden.at)) / 1000;
    expect(pasted.mediaSeconds! - hidden.mediaSeconds!).toBeLessThan(wall - (DOWN_MS / 1000) * 0.9);
  }, 240_000);
});
