import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingArtifact } from '../../server/db/RecordingArtifact.ts';
import { probeFile } from '../support/ffprobe.ts';
import { ensureMediaFixtures } from '../support/mediaFixtures.ts';
import { download, getInterview, publishSynthetic, waitForStatus } from '../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { asAdmin, startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';

import type { FilmstripView as Filmstrip } from '../../shared/vocabulary.ts';

const run = promisify(execFile);


interface SessionRecording {
  status: string;
  screenVideo: string;
  filmstrip: Filmstrip | null;
  /** Whether the page should ask again: one is still to come. */
  filmstripComing: boolean;
}

async function sessionRecording(t: TestService, interview: CreatedInterview): Promise<SessionRecording> {
  const response = await fetch(`${t.url}/session/${interview.id}/recording`, { headers: { authorization: `Bearer ${interview.candidateToken}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as SessionRecording;
}

/** Mean brightness (0–255) of each cell of a sheet of `columns` × `rows` tiles, row-major. */
async function tileBrightness(file: string, layout: Filmstrip, rows: number): Promise<number[]> {
  const width = layout.columns * layout.tileWidth;
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  const means: number[] = [];
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < layout.columns; column++) {
      let sum = 0;
      for (let y = 0; y < layout.tileHeight; y++) {
        const start = (row * layout.tileHeight + y) * width + column * layout.tileWidth;
        for (let x = 0; x < layout.tileWidth; x++) sum += stdout[start + x]!;
      }
      means.push(sum / (layout.tileWidth * layout.tileHeight));
    }
  }
  return means;
}

/** What a recorder leaves: segment-000 with a screen and a camera file, each with the fixtures' audio. */
async function writeSegment(t: TestService, interviewId: string, screen: 'video' | 'audio only'): Promise<string> {
  const fixtures = await ensureMediaFixtures();
  const directory = path.join(t.dataDir, 'recordings', interviewId);
  const segment = path.join(directory, 'segment-000');
  fs.mkdirSync(segment, { recursive: true });
  const withAudio = (video: string, target: string) =>
    run('ffmpeg', ['-v', 'error', '-i', video, '-i', fixtures.audio, '-map', '0:v', '-map', '1:a', '-c', 'copy', '-f', 'webm', '-y', target]);
  await withAudio(fixtures.camera, path.join(segment, 'candidate.webm'));
  if (screen === 'video') await withAudio(fixtures.screen, path.join(segment, 'screen.webm'));
  else await run('ffmpeg', ['-v', 'error', '-i', fixtures.audio, '-c', 'copy', '-f', 'webm', '-y', path.join(segment, 'screen.webm')]);
  return directory;
}

describe('the filmstrip of a recording', () => {
  let t: TestService | undefined;
  let publisher: SyntheticPublisher | undefined;
  afterEach(async () => {
    await publisher?.close();
    await t?.close();
    publisher = undefined;
    t = undefined;
  });

  it('is stored beside the recordings, one decodable tile per interval, served with a valid signature only, and deleted with them', async () => {
    t = await startTestService();
    const interview = await t.createInterview({ durationSeconds: 12 });
    publisher = await publishSynthetic(t, interview.id);
    await waitForStatus(t, interview.id, 'completed', 60_000);
    // Made after the URLs are stored: the page sees null until then, never an error.
    const recording = await waitFor(async () => (await sessionRecording(t!, interview)).filmstrip ? sessionRecording(t!, interview) : null, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the filmstrip',
    });
    const filmstrip = recording.filmstrip!;
    expect(filmstrip.url.startsWith(`${t.url}/media/interviews/${interview.id}/filmstrip.jpg?expires=`)).toBe(true);

    const screen = await probeFile(await download(recording.screenVideo));
    // A 12 s screen recording: a tile every 2 s (the shortest interval), 160 px wide at 16:9.
    expect(filmstrip).toMatchObject({ intervalSeconds: 2, tileWidth: 160, tileHeight: 90 });
    expect(filmstrip.count).toBe(Math.ceil(screen.durationSeconds! / filmstrip.intervalSeconds));
    expect(filmstrip.columns).toBe(Math.min(10, filmstrip.count));

    const response = await fetch(filmstrip.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    const bytes = Buffer.from(await response.arrayBuffer());
    const file = path.join(tempDir('filmstrip-'), 'filmstrip.jpg');
    fs.writeFileSync(file, bytes);
    const sheet = await probeFile(file);
    const rows = Math.ceil(filmstrip.count / filmstrip.columns);
    expect(sheet.video).toMatchObject({ codecName: 'mjpeg', width: filmstrip.columns * filmstrip.tileWidth, height: rows * filmstrip.tileHeight });
    const decoded = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    expect(decoded.stderr).toBe('');
    // Every one of `count` tiles holds a frame of the (colourful) test screen; the cells after them are the black padding.
    const brightness = await tileBrightness(file, filmstrip, rows);
    expect(brightness.slice(0, filmstrip.count).every((mean) => mean > 40)).toBe(true);
    expect(brightness.slice(filmstrip.count).every((mean) => mean < 5)).toBe(true);

    // Range and signatures as for the videos.
    const partial = await fetch(filmstrip.url, { headers: { range: 'bytes=10-19' } });
    expect(partial.status).toBe(206);
    expect(Buffer.from(await partial.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);
    const forged = new URL(filmstrip.url);
    forged.searchParams.set('signature', `${forged.searchParams.get('signature')!.slice(0, -2)}AA`);
    expect((await fetch(forged)).status).toBe(403);
    const otherKey = filmstrip.url.replace('filmstrip.jpg', 'other.jpg');
    expect((await fetch(otherKey)).status).toBe(403);
    expect((await fetch(filmstrip.url.split('?')[0]!)).status).toBe(401);

    // The admin view has it too.
    expect(recording.filmstripComing).toBe(false);
    const admin = await t.api<{ filmstrip: Filmstrip | null; filmstripComing: boolean }>('GET', `/api/interviews/${interview.id}`);
    expect(admin.body.filmstrip).toMatchObject({ intervalSeconds: 2, count: filmstrip.count, columns: filmstrip.columns, tileWidth: 160, tileHeight: 90 });
    expect(admin.body.filmstripComing).toBe(false);
    // Local files go once the artifacts are made from them.
    expect(fs.existsSync(t.service.sessions.recordingDirOf(interview.id))).toBe(false);

    // Deleted with the recordings.
    expect((await t.api('DELETE', `/api/interviews/${interview.id}/recordings`)).status).toBe(200);
    expect(await sessionRecording(t, interview)).toMatchObject({ filmstrip: null, filmstripComing: false });
    expect((await fetch(filmstrip.url.split('?')[0]!, { headers: asAdmin() })).status).toBe(404);
    expect(await t.service.database.em().find(RecordingArtifact, { interviewId: interview.id })).toEqual([]);
  });

  it('that cannot be made (a screen recording without video) leaves the interview completed, with the reason stored', async () => {
    t = await startTestService();
    const interview = await t.createInterview({ durationSeconds: 60 });
    const directory = await writeSegment(t, interview.id, 'audio only');
    // Before the end, where the service makes filmstrips: one is to come.
    expect(await sessionRecording(t, interview)).toMatchObject({ filmstrip: null, filmstripComing: true });
    const artifacts = new Promise<Array<{ name: string; status: string; error?: string }>>((resolve) => {
      t!.service.sessions.on('artifacts', (id, outcomes) => id === interview.id && resolve(outcomes));
    });
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    const done = await waitForStatus(t, interview.id, ['completed', 'failed'], 30_000);
    expect(done.status).toBe('completed');
    expect(done.screenVideo).toBe(`${t.url}/media/interviews/${interview.id}/screen.webm`);
    expect(await artifacts).toEqual([{ name: 'filmstrip', status: 'failed', ms: expect.any(Number), error: expect.stringMatching(/has no video stream/) }]);
    await t.service.sessions.idle();
    const [row] = await t.service.database.em().fork().find(RecordingArtifact, { interviewId: interview.id });
    expect(row).toMatchObject({ name: 'filmstrip', status: 'failed', error: expect.stringMatching(/no video stream/) });
    expect(await sessionRecording(t, interview)).toMatchObject({ filmstrip: null, filmstripComing: false });
    expect((await getInterview(t, interview.id)).status).toBe('completed');
    expect(fs.existsSync(directory)).toBe(false);
  });

  it('of a recording shorter than FILMSTRIP_MIN_SECONDS is not made: the interview completes, no artifact row is left, and the local recording goes', async () => {
    t = await startTestService({ FILMSTRIP_MIN_SECONDS: '420' });
    const interview = await t.createInterview({ durationSeconds: 60 });
    const directory = await writeSegment(t, interview.id, 'video');
    const artifacts = new Promise<Array<{ name: string; status: string }>>((resolve) => {
      t!.service.sessions.on('artifacts', (id, outcomes) => id === interview.id && resolve(outcomes));
    });
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    expect((await waitForStatus(t, interview.id, ['completed', 'failed'], 30_000)).status).toBe('completed');
    expect(await artifacts).toEqual([{ name: 'filmstrip', status: 'skipped', ms: expect.any(Number) }]);
    await t.service.sessions.idle();
    expect(await t.service.database.em().fork().find(RecordingArtifact, { interviewId: interview.id })).toEqual([]);
    // None will come: the review page stops asking at once.
    expect(await sessionRecording(t, interview)).toMatchObject({ filmstrip: null, filmstripComing: false });
    expect(fs.existsSync(directory)).toBe(false);
  });

  it('of an interview completed just before a restart is made at the next start from the recording left on disk', async () => {
    t = await startTestService();
    const interview = await t.createInterview({ durationSeconds: 60 });
    const directory = await writeSegment(t, interview.id, 'video');
    // What a restart between the stored URLs and the filmstrip leaves: the interview completed, the
    // filmstrip's row pending, the final files still on disk. Made here by the delivery itself with
    // the service shutting down as it completes (the artifacts are interrupted, not failed).
    const sessions = t.service.sessions;
    sessions.on('completed', (done) => done.id === interview.id && void sessions.get(interview.id)?.stopRecording());
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    await waitForStatus(t, interview.id, 'completed', 30_000);
    await t.service.sessions.idle();
    const [pending] = await t.service.database.em().fork().find(RecordingArtifact, { interviewId: interview.id });
    expect(pending).toMatchObject({ name: 'filmstrip', status: 'pending' });
    expect(await sessionRecording(t, interview)).toMatchObject({ filmstrip: null, filmstripComing: true });
    const screen = await probeFile(path.join(directory, 'screen.webm'));

    const dataDir = t.dataDir;
    await t.close({ keepDataDir: true });
    t = await startTestService({ DATA_DIR: dataDir });
    const recording = await waitFor(async () => (await sessionRecording(t!, interview)).filmstrip, { timeoutMs: 30_000, intervalMs: 200, what: 'the filmstrip after the restart' });
    const count = Math.ceil(screen.durationSeconds! / 2);
    expect(recording).toMatchObject({ intervalSeconds: 2, count, columns: count, tileWidth: 160, tileHeight: 90 });
    expect((await fetch(recording.url)).status).toBe(200);
    await t.service.sessions.idle();
    expect(fs.existsSync(directory)).toBe(false);
  });
});
