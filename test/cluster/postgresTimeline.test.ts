// The timeline on PostgreSQL (cluster mode's database): entries stored and read back with their
// types, and the finalize's recompute of every media time (one statement per chunk) in that dialect.
import fs from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentDir, writeSegmentDuration, writeSegmentMediaStart } from '../../recorder-pipeline/segments.ts';
import { Database } from '../../server/db/Database.ts';
import { Interview } from '../../server/db/Interview.ts';
import { InterviewTimeline } from '../../server/timeline/InterviewTimeline.ts';
import { listTimelineEvents } from '../../server/timeline/timelineStore.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { tempDir } from '../support/testConfig.ts';

describe('the timeline on PostgreSQL', () => {
  let postgres: PostgresServer;
  let database: Database;
  beforeAll(async () => {
    postgres = await startPostgres();
    ({ database } = await Database.open({ kind: 'postgresql', url: await postgres.createDatabase('timeline') }));
  }, 120_000);
  afterAll(async () => {
    await database?.close();
    await postgres?.stop();
  });

  it('stores reports and server events, and recomputes their media times from the measured segments', async () => {
    const interview = new Interview(600, null);
    await database.em().persistAndFlush(interview);
    const recordingDir = tempDir('pg-timeline-');
    const start = Date.now() - 60_000;
    // Segment 0 began a minute ago; segment 1 (after a restart) 20 s ago.
    fs.mkdirSync(segmentDir(recordingDir, 0), { recursive: true });
    fs.mkdirSync(segmentDir(recordingDir, 1), { recursive: true });
    await writeSegmentMediaStart(segmentDir(recordingDir, 0), new Date(start));
    await writeSegmentMediaStart(segmentDir(recordingDir, 1), new Date(start + 40_000));
    const timeline = new InterviewTimeline({ interviewId: interview.id, database, recordingDir, logger: pino({ level: 'silent' }) });
    expect(await timeline.report('pasted', start - 3_600_000, { length: 12, note: 'naïve', ok: true, none: null })).toEqual({ accepted: true });
    for (let i = 0; i < 450; i++) await timeline.record('media_path', { path: 'udp', i });
    const live = await listTimelineEvents(database, interview.id);
    expect(live).toHaveLength(451);
    expect(live[0]).toMatchObject({ seq: 1, kind: 'pasted', source: 'candidate', browserAt: new Date(start - 3_600_000).toISOString(), details: { length: 12, note: 'naïve', ok: true, none: null } });
    // Live: 20 s into segment 1 after segment 0 estimated by its last write (none here: open-ended).
    // Finalize measured segment 0 at 30 s (it ended 10 s before the restart): 30 + 20 s.
    await writeSegmentDuration(segmentDir(recordingDir, 0), 30);
    await writeSegmentDuration(segmentDir(recordingDir, 1), 25);
    const recomputed = await timeline.recomputeMediaTimes();
    const stored = await listTimelineEvents(database, interview.id);
    expect(stored).toEqual(recomputed);
    for (const event of stored) expect(event.mediaSeconds).toBeCloseTo(Math.min(30 + (Date.parse(event.at) - (start + 40_000)) / 1000, 55), 2);
    fs.rmSync(recordingDir, { recursive: true, force: true });
  }, 120_000);
});
