// The whole service on PostgreSQL (DATABASE_URL): migrated on a fresh database, its state there
// and not in DATA_DIR, and an interview recorded and finalized end to end.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_FILE_NAME } from '../../config/Config.ts';
import { migrationNames } from '../../server/db/migrations/index.ts';
import { download, getInterview, publishSynthetic, useSyntheticScene, waitForStatus } from '../support/recordedInterview.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { ServiceProcess, serviceEnv } from '../support/serviceProcess.ts';
import { capturingLogger, startTestService } from '../support/testService.ts';

describe('the service on PostgreSQL', () => {
  let postgres: PostgresServer;
  const scene = useSyntheticScene();
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  it('migrates a fresh database, stores an interview created through the admin API there, and still has it after a restart with a new DATA_DIR', async () => {
    const url = await postgres.createDatabase('ingest_restart');
    const first = capturingLogger();
    scene.t = await startTestService({ DATABASE_URL: url }, { logger: first.logger });
    expect(first.lines.find((line) => line.msg === 'database migrated')?.migrations).toEqual(migrationNames);
    const recorded = await postgres.query<{ name: string }>('ingest_restart', 'select name from mikro_orm_migrations order by id');
    expect(recorded.map((row) => row.name)).toEqual(migrationNames);

    const created = await scene.t.createInterview({ durationSeconds: 900, candidateName: 'Ada Lovelace' });
    const rows = await postgres.query('ingest_restart', 'select id, status, candidate_name, duration_seconds, created_at from interviews');
    expect(rows).toEqual([{ id: created.id, status: 'created', candidate_name: 'Ada Lovelace', duration_seconds: 900, created_at: expect.any(Date) }]);
    // Nothing of the state went to a SQLite file.
    expect(fs.existsSync(path.join(scene.t.dataDir, SQLITE_FILE_NAME))).toBe(false);
    const firstDataDir = scene.t.dataDir;
    await scene.t.close();
    scene.t = undefined;
    expect(fs.existsSync(firstDataDir)).toBe(false);

    const second = capturingLogger();
    scene.t = await startTestService({ DATABASE_URL: url }, { logger: second.logger });
    expect(scene.t.dataDir).not.toBe(firstDataDir);
    expect(second.lines.filter((line) => line.msg === 'database migrated')).toEqual([]);
    expect(await getInterview(scene.t, created.id)).toMatchObject({ id: created.id, status: 'created', candidateName: 'Ada Lovelace', durationSeconds: 900 });
    const list = await scene.t.api<{ id: string }[]>('GET', '/api/interviews');
    expect(list.status).toBe(200);
    expect(list.body.map((interview) => interview.id)).toEqual([created.id]);
  });

  it('as a process (npm start) killed with SIGKILL and started on an empty DATA_DIR, finds its interviews in PostgreSQL', async () => {
    const url = await postgres.createDatabase('ingest_killed');
    const env = await serviceEnv({ DATABASE_URL: url });
    const dataDirs = [env.DATA_DIR];
    let service: ServiceProcess | undefined;
    try {
      service = await ServiceProcess.start(env);
      expect(service.logged('database migrated')).toHaveLength(1);
      const created = await service.api<{ id: string }>('POST', '/api/interviews', { durationSeconds: 600, candidateName: 'Grace Hopper' });
      expect(created.status).toBe(201);
      await service.kill();

      const fresh = await serviceEnv({ DATABASE_URL: url, PORT: env.PORT, PUBLIC_URL: env.PUBLIC_URL! });
      dataDirs.push(fresh.DATA_DIR);
      service = await ServiceProcess.start(fresh);
      expect(service.logged('database migrated')).toEqual([]);
      const found = await service.api<{ id: string; candidateName: string; status: string }>('GET', `/api/interviews/${created.body.id}`);
      expect(found).toMatchObject({ status: 200, body: { id: created.body.id, candidateName: 'Grace Hopper', status: 'created' } });
      expect(fs.readdirSync(fresh.DATA_DIR)).not.toContain(SQLITE_FILE_NAME);
    } finally {
      await service?.kill();
      for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records, finalizes and uploads an interview, with its recording files and their multipart state in PostgreSQL', async () => {
    const url = await postgres.createDatabase('ingest_recorded');
    scene.t = await startTestService({ DATABASE_URL: url });
    const interview = await scene.t.createInterview({ durationSeconds: 10 });
    scene.publisher = await publishSynthetic(scene.t, interview.id);
    await waitForStatus(scene.t, interview.id, 'live', 20_000);
    const done = await waitForStatus(scene.t, interview.id, 'completed', 90_000);
    expect(done.screenVideo).toBe(`${scene.t.url}/media/interviews/${interview.id}/screen.webm`);

    const [row] = await postgres.query('ingest_recorded', 'select status, started_at, ends_at, completed_at, screen_video from interviews where id = $1', [interview.id]);
    expect(row).toMatchObject({ status: 'completed', screen_video: done.screenVideo });
    expect(row!.completed_at.getTime() - row!.started_at.getTime()).toBeGreaterThanOrEqual(10_000 - 1000);
    const files = await postgres.query<{ kind: string; status: string; size_bytes: string; uploaded_bytes: string; multipart_upload_id: string | null; multipart_parts: { sizeBytes: number }[] }>(
      'ingest_recorded',
      'select kind, status, size_bytes, uploaded_bytes, multipart_upload_id, multipart_parts from recording_files where interview_id = $1 order by kind',
      [interview.id],
    );
    expect(files.map((file) => [file.kind, file.status])).toEqual([
      ['candidate', 'uploaded'],
      ['screen', 'uploaded'],
    ]);
    const screenFile = await download(done.screenVideo);
    // bigint comes back from pg as a string; the service read and wrote it as a number.
    expect(Number(files[1]!.size_bytes)).toBe(fs.statSync(screenFile).size);
    expect(Number(files[1]!.uploaded_bytes)).toBe(Number(files[1]!.size_bytes));
    expect(Number(files[1]!.size_bytes)).toBeGreaterThan(100_000);
    // The progressive upload's state, kept as jsonb: its parts add up to the stored file.
    for (const file of files) {
      expect(file.multipart_upload_id).toEqual(expect.any(String));
      expect(file.multipart_parts.reduce((sum, part) => sum + part.sizeBytes, 0)).toBe(Number(file.size_bytes));
    }
    // The filmstrip, made after the URLs: its row, with the layout as jsonb.
    await scene.t.service.sessions.idle();
    const [filmstrip] = await postgres.query<{ status: string; size_bytes: string; details: { count: number; tileWidth: number } }>(
      'ingest_recorded',
      'select status, size_bytes, details from recording_artifacts where interview_id = $1',
      [interview.id],
    );
    expect(filmstrip).toMatchObject({ status: 'stored', details: { tileWidth: 160 } });
    expect(Number(filmstrip!.size_bytes)).toBeGreaterThan(1000);
  });
});
