// The schema the migrations build on PostgreSQL is the one they build on SQLite: the same tables,
// columns and nullability, the same constraints enforced, and values read back with their types.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../server/db/Database.ts';
import { Interview } from '../../server/db/Interview.ts';
import { RecordingFile } from '../../server/db/RecordingFile.ts';
import { WebhookEvent } from '../../server/db/WebhookEvent.ts';
import { migrationNames } from '../../server/db/migrations/index.ts';
import { InterviewStatus } from '../../server/db/InterviewStatus.ts';
import { InterviewService } from '../../server/lifecycle/InterviewService.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { tempDir } from '../support/testConfig.ts';

type Column = { table: string; column: string; nullable: boolean };

async function sqliteColumns(database: Database): Promise<Column[]> {
  const connection = database.em().getConnection();
  const tables = await connection.execute<{ name: string }[]>("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name");
  const columns: Column[] = [];
  for (const { name } of tables) {
    for (const info of await connection.execute<{ name: string; notnull: number; pk: number }[]>(`pragma table_info(\`${name}\`)`)) {
      columns.push({ table: name, column: info.name, nullable: info.notnull === 0 && info.pk === 0 });
    }
  }
  return columns.sort((a, b) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`));
}

describe('the migrations on PostgreSQL', () => {
  let postgres: PostgresServer;
  const opened: Database[] = [];
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterEach(async () => {
    for (const database of opened.splice(0)) await database.close();
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  async function openPostgres(name: string) {
    const url = await postgres.createDatabase(name);
    const result = await Database.open({ kind: 'postgresql', url });
    opened.push(result.database);
    return result;
  }

  it('build the same tables, columns and nullability as on SQLite, and run once', async () => {
    const { database, appliedMigrations } = await openPostgres('schema_parity');
    expect(database.dialect).toBe('postgresql');
    expect(appliedMigrations).toEqual(migrationNames);
    const sqlite = await Database.open(path.join(tempDir(), 'parity.sqlite'));
    opened.push(sqlite.database);
    const columns = await postgres.query<{ table: string; column: string; nullable: string }>(
      'schema_parity',
      "select table_name as table, column_name as column, is_nullable as nullable from information_schema.columns where table_schema = 'public'",
    );
    const onPostgres = columns
      .map((c) => ({ table: c.table, column: c.column, nullable: c.nullable === 'YES' }))
      .sort((a, b) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`));
    // MikroORM's own bookkeeping table differs by dialect; the service's tables must not.
    const ours = (list: Column[]) => list.filter((c) => c.table !== 'mikro_orm_migrations');
    expect(ours(onPostgres)).toEqual(ours(await sqliteColumns(sqlite.database)));
    expect(ours(onPostgres).length).toBeGreaterThan(30);

    const second = await Database.open({ kind: 'postgresql', url: postgres.url('schema_parity') });
    opened.push(second.database);
    expect(second.appliedMigrations).toEqual([]);
    expect(await second.database.pendingMigrations()).toEqual([]);
  });

  it('create the database first when it does not exist yet (the user may create databases), from a postgresql:// URL', async () => {
    const exists = async () => (await postgres.query('postgres', "select 1 from pg_database where datname = 'not_created_yet'")).length > 0;
    expect(await exists()).toBe(false);
    // postgresql:// is the other spelling DATABASE_URL accepts.
    const url = postgres.url('not_created_yet').replace(/^postgres:/, 'postgresql:');
    expect(url).toMatch(/^postgresql:\/\//);
    const { database, appliedMigrations } = await Database.open({ kind: 'postgresql', url });
    opened.push(database);
    expect(await exists()).toBe(true);
    expect(appliedMigrations).toEqual(migrationNames);
  });

  it('refuse to open when PostgreSQL is unreachable, naming the address', async () => {
    // The port of a server that has stopped: nothing listens there any more.
    const gone = await startPostgres();
    const url = gone.url('postgres');
    await gone.stop();
    await expect(Database.open({ kind: 'postgresql', url })).rejects.toThrow(new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${gone.port}`));
  });

  it('report the database down within two seconds when the server hangs, and up once it answers again', async () => {
    const { database } = await openPostgres('hung_server');
    expect(await database.isUp()).toBe(true);
    // SIGSTOP the postmaster and every backend (its children): connections stay open, nothing answers.
    const children = fs
      .readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((entry) => {
        try {
          const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postgres.pid;
        } catch {
          return false;
        }
      })
      .map(Number);
    expect(children.length).toBeGreaterThan(0);
    const frozen = [postgres.pid, ...children];
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      const asked = Date.now();
      expect(await database.isUp()).toBe(false);
      expect(Date.now() - asked).toBeLessThan(3000);
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    await expect.poll(() => database.isUp(), { timeout: 10_000 }).toBe(true);
  });

  it('use PostgreSQL types: timestamptz, jsonb, bigint byte counts', async () => {
    await openPostgres('schema_types');
    const types = await postgres.query<{ key: string; data_type: string }>(
      'schema_types',
      "select table_name || '.' || column_name as key, data_type from information_schema.columns where table_schema = 'public' and table_name <> 'mikro_orm_migrations'",
    );
    const typeOf = new Map(types.map((t) => [t.key, t.data_type]));
    expect(typeOf.get('interviews.created_at')).toBe('timestamp with time zone');
    expect(typeOf.get('interviews.gaps')).toBe('jsonb');
    expect(typeOf.get('interviews.screen_source')).toBe('jsonb');
    expect(typeOf.get('interviews.metadata')).toBe('jsonb');
    expect(typeOf.get('recording_files.size_bytes')).toBe('bigint');
    expect(typeOf.get('recording_files.uploaded_bytes')).toBe('bigint');
    expect(typeOf.get('webhook_events.payload')).toBe('jsonb');
    // Nothing left with a SQLite-only type name.
    expect([...typeOf.values()].filter((type) => /datetime/.test(type))).toEqual([]);
  });

  it('enforce the same constraints: a non-negative score, 500-character URLs, known statuses, files of existing interviews', async () => {
    const { database } = await openPostgres('schema_checks');
    const connection = database.em().getConnection();
    const insert = (score: number, url: string, status = 'created') =>
      connection.execute('insert into interviews (id, status, duration_seconds, created_at, score, screen_video) values (?, ?, 60, now(), ?, ?)', [crypto.randomUUID(), status, score, url]);
    await expect(insert(-1, '')).rejects.toThrow(/check constraint/);
    await expect(insert(0, `https://x/${'a'.repeat(500)}`)).rejects.toThrow(/check constraint/);
    await expect(insert(0, '', 'paused')).rejects.toThrow(/check constraint/);
    await expect(insert(3, 'https://media.example.com/a.webm')).resolves.toBeDefined();
    const orphan = new RecordingFile(crypto.randomUUID(), 'screen');
    await expect(database.em().persistAndFlush(orphan)).rejects.toThrow(/foreign key/);
    // One interview per externalId (a racing create meets this index), any number without one.
    await database.em().persistAndFlush([new Interview(60, null, { externalId: 'ats:42' }), new Interview(60, null), new Interview(60, null)]);
    await expect(database.em().persistAndFlush(new Interview(90, null, { externalId: 'ats:42' }))).rejects.toThrow(/interviews_external_id_unique/);
  });

  it('let racing creates with one externalId make one interview: each loser gets the winner (idempotent create)', async () => {
    const { database } = await openPostgres('racing_creates');
    const interviews = new InterviewService(database);
    const input = { durationSeconds: 300, externalId: 'ats:race', metadata: { b: 2, a: 1 } };
    const results = await Promise.all(Array.from({ length: 8 }, () => interviews.create(input)));
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.interview.id)).size).toBe(1);
    expect(await database.em().count(Interview, { externalId: 'ats:race' })).toBe(1);
    // jsonb keeps no key order: the same metadata is still the same create; other metadata is a conflict.
    expect((await interviews.create({ ...input, metadata: { a: 1, b: 2 } })).created).toBe(false);
    await expect(interviews.create({ ...input, metadata: { a: 1 } })).rejects.toMatchObject({ code: 'conflict', field: 'externalId' });
  });

  it("let racing nodes take a failed interview's due retry once, with the finalization claim", async () => {
    const { database } = await openPostgres('racing_retries');
    const interviews = new InterviewService(database, undefined, { retrySchedule: { delaysMs: [60_000], forMs: 24 * 3600_000 } });
    const { interview } = await interviews.create({ durationSeconds: 60 });
    const endedAt = new Date();
    await interviews.end(interview.id, {}, { node: 'node-0', ttlMs: 15_000 }, endedAt);
    const failed = (await interviews.fail(interview.id, 'the store is down', 'node-0', endedAt))!;
    expect({ failedDeliveries: failed.failedDeliveries, nextRetryAt: failed.nextRetryAt }).toEqual({ failedDeliveries: 1, nextRetryAt: new Date(endedAt.getTime() + 60_000) });
    const due = new Date(endedAt.getTime() + 60_000);
    expect((await interviews.dueRetries(due)).map((found) => found.id)).toEqual([interview.id]);
    const nodes = Array.from({ length: 8 }, (_, i) => ({ node: `node-${i + 1}`, ttlMs: 15_000 }));
    const taken = await Promise.all(nodes.map((claim) => interviews.reopenDueRetry(interview.id, claim, due)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    const stored = await database.em().findOneOrFail(Interview, { id: interview.id });
    expect({ status: stored.status, finalizingNode: stored.finalizingNode }).toEqual({ status: InterviewStatus.Finalizing, finalizingNode: nodes[taken.indexOf(true)]!.node });
  });

  it('read back what was stored with its JavaScript types', async () => {
    const { database } = await openPostgres('schema_values');
    const interview = new Interview(600, 'Ada');
    interview.gaps = [{ start: '2026-12-01T10:00:00.000Z', end: null, cause: 'candidate reconnected' }];
    interview.screenSource = { verdict: 'unverified', evidence: 'no displaySurface' };
    interview.externalId = 'ats:job-7/ada@example.com';
    interview.returnUrl = 'https://app.example.com/interview/end/7/';
    interview.metadata = { jobId: 7, tags: ['backend', { level: 'senior' }], note: 'naïve “quotes”' };
    await database.em().persistAndFlush(interview);
    const file = new RecordingFile(interview.id, 'screen');
    // Past 2^31 and 2^32: a 32-bit column would have refused or wrapped it.
    file.sizeBytes = 5_000_000_000;
    file.multipartParts = [{ partNumber: 1, etag: '"abc"', sizeBytes: 8_388_608, md5: '0123456789abcdef0123456789abcdef' }];
    await database.em().persistAndFlush(file);
    const event = new WebhookEvent('interview.live', interview.id, { startedAt: '2026-12-01T10:00:00.000Z' });
    await database.em().persistAndFlush(event);

    const em = database.em();
    const loaded = await em.findOneOrFail(Interview, { id: interview.id });
    expect(loaded.createdAt).toBeInstanceOf(Date);
    expect(loaded.createdAt.getTime()).toBe(interview.createdAt.getTime());
    expect(loaded.gaps).toEqual(interview.gaps);
    expect(loaded.screenSource).toEqual(interview.screenSource);
    expect({ externalId: loaded.externalId, returnUrl: loaded.returnUrl, metadata: loaded.metadata }).toEqual({
      externalId: interview.externalId,
      returnUrl: interview.returnUrl,
      metadata: interview.metadata,
    });
    expect((await em.findOneOrFail(Interview, { externalId: 'ats:job-7/ada@example.com' })).id).toBe(interview.id);
    const loadedFile = await em.findOneOrFail(RecordingFile, { id: file.id });
    expect(loadedFile.sizeBytes).toBe(5_000_000_000);
    expect(loadedFile.multipartParts).toEqual(file.multipartParts);
    const loadedEvent = await em.findOneOrFail(WebhookEvent, { id: event.id });
    expect(loadedEvent.payload).toEqual(event.payload);
    // Queries the service runs: by status, and the outbox's due events by time.
    expect((await em.find(Interview, { status: InterviewStatus.Created })).map((i) => i.id)).toEqual([interview.id]);
    expect((await em.find(WebhookEvent, { deliveredAt: null, nextAttemptAt: { $lte: new Date() } })).map((e) => e.id)).toEqual([event.id]);
  });
});
