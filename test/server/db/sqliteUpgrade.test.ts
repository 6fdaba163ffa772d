// A single-node database from before PostgreSQL support must migrate exactly as it did then.
// The fixtures were written by the code of commit bba0345 (the last one before it):
// - before-screen-source.sqlite: a database four migrations in (as a service that had not yet
//   run Migration20261201020000ScreenSource left it), with an interview, its two recording files
//   and a webhook event, inserted as that code stored them (datetimes as epoch milliseconds,
//   JSON as text);
// - schema-before-postgres.json: sqlite_master of a fresh database after every migration.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database } from '../../../server/db/Database.ts';
import { Interview } from '../../../server/db/Interview.ts';
import { RecordingFile } from '../../../server/db/RecordingFile.ts';
import { WebhookEvent } from '../../../server/db/WebhookEvent.ts';
import { migrationNames } from '../../../server/db/migrations/index.ts';
import { tempDir } from '../../support/testConfig.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures');
const schemaBefore = JSON.parse(fs.readFileSync(path.join(fixtures, 'schema-before-postgres.json'), 'utf8')) as unknown[];
const INTERVIEW_ID = '0b5e6a52-3c1f-4d2e-9a47-6f1d2c3b4a5e';

const schemaOf = (database: Database) =>
  database.em().getConnection().execute("select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by type, name");

/**
 * What migrations after the fixture added, appended to the interviews table by `alter table`: the
 * finalization claim (cluster mode), what a host app keeps on an interview (embedding), the
 * automatic retries of a failed interview, then the timeline's WebVTT URL.
 */
const LATER_COLUMNS =
  ", `finalizing_node` text null, `claim_expires_at` datetime null, `external_id` text null, `return_url` text null, `metadata` json null, `failed_deliveries` integer not null default 0, `next_retry_at` datetime null, `timeline_vtt` text not null default '')";
/** And the index that makes externalId unique. */
const EXTERNAL_ID_INDEX = 'CREATE UNIQUE INDEX `interviews_external_id_unique` on `interviews` (`external_id`)';

/**
 * The schema without what came after the fixture was written: service_secrets (shared keys in
 * cluster mode; one node leaves it empty), the interviews' later columns and the externalId index.
 * Each must be there, and the rest must be exactly the old schema.
 */
function withoutLaterAdditions(schema: Array<{ type: string; tbl_name: string; sql?: string }>): unknown[] {
  expect(schema.filter((entry) => entry.tbl_name === 'service_secrets').map((entry) => entry.type)).toContain('table');
  expect(schema.filter((entry) => entry.tbl_name === 'recording_artifacts').map((entry) => entry.type).sort()).toEqual(['index', 'table']);
  expect(schema.filter((entry) => entry.tbl_name === 'timeline_events').map((entry) => entry.type)).toContain('table');
  const interviews = schema.find((entry) => entry.type === 'table' && entry.tbl_name === 'interviews');
  expect(interviews?.sql?.endsWith(LATER_COLUMNS)).toBe(true);
  const externalIdIndex = schema.find((entry) => entry.type === 'index' && entry.sql === EXTERNAL_ID_INDEX);
  expect(externalIdIndex).toBeDefined();
  return schema
    .filter((entry) => entry.tbl_name !== 'service_secrets' && entry.tbl_name !== 'recording_artifacts' && entry.tbl_name !== 'timeline_events' && entry !== externalIdIndex)
    .map((entry) => (entry === interviews ? { ...entry, sql: `${entry.sql!.slice(0, -LATER_COLUMNS.length)})` } : entry));
}

describe('an existing SQLite database', () => {
  const opened: Database[] = [];
  afterEach(async () => {
    for (const database of opened.splice(0)) await database.close();
  });

  async function openCopy(): Promise<{ database: Database; appliedMigrations: string[]; file: string }> {
    const file = path.join(tempDir(), 'interview-ingest.sqlite');
    fs.copyFileSync(path.join(fixtures, 'before-screen-source.sqlite'), file);
    const result = await Database.open(file);
    opened.push(result.database);
    return { ...result, file };
  }

  it('gets only the migrations it had not run, and then the very schema the old code built (plus the cluster-mode, embedding, retry, artifact and timeline additions since)', async () => {
    const { database, appliedMigrations } = await openCopy();
    expect(appliedMigrations).toEqual([
      'Migration20261201020000ScreenSource',
      'Migration20261201030000ServiceSecrets',
      'Migration20261210010000FinalizationClaim',
      'Migration20261220010000EmbeddingContract',
      'Migration20261230010000FailedRetries',
      'Migration20261231010000RecordingArtifacts',
      'Migration20270101010000Timeline',
    ]);
    expect(await database.pendingMigrations()).toEqual([]);
    const schema = (await schemaOf(database)) as Array<{ type: string; tbl_name: string; sql?: string }>;
    expect(withoutLaterAdditions(schema)).toEqual(schemaBefore);
    const recorded = await database.em().getConnection().execute('select name from mikro_orm_migrations order by id');
    expect(recorded.map((row: { name: string }) => row.name)).toEqual(migrationNames);
  });

  it('keeps its rows, read back with their types', async () => {
    const { database } = await openCopy();
    const interview = await database.em().findOneOrFail(Interview, { id: INTERVIEW_ID });
    expect(interview).toMatchObject({
      status: 'completed',
      candidateName: 'Ada Lovelace',
      durationSeconds: 600,
      score: 4,
      notes: 'explained the trade-offs',
      screenSource: null,
      recordingsDeletedAt: null,
      externalId: null,
      returnUrl: null,
      metadata: null,
      failedDeliveries: 0,
      nextRetryAt: null,
      gaps: [{ start: '2025-12-01T09:05:00.000Z', end: '2025-12-01T09:05:03.000Z', cause: 'candidate reconnected' }],
    });
    expect(interview.createdAt).toEqual(new Date(1764580000000));
    expect(interview.completedAt).toEqual(new Date(1764580700000));
    const files = await database.em().find(RecordingFile, { interviewId: INTERVIEW_ID }, { orderBy: { kind: 'asc' } });
    expect(files.map((file) => [file.kind, file.status, file.sizeBytes, file.uploadedBytes, file.multipartParts.length])).toEqual([
      ['candidate', 'uploaded', 5_000_000_000, 5_000_000_000, 1],
      ['screen', 'uploaded', 5_000_000_000, 5_000_000_000, 1],
    ]);
    const [event] = await database.em().find(WebhookEvent, { interviewId: INTERVIEW_ID });
    expect(event?.payload).toEqual({ type: 'interview.completed', timestamp: '2025-12-01T09:11:40.000Z', data: { interviewId: INTERVIEW_ID } });
    expect(event?.deliveredAt).toEqual(new Date(1764580701000));
  });

  it('stores new rows as before: byte counts and datetimes as integers, JSON as text', async () => {
    const { database } = await openCopy();
    const interview = new Interview(300, 'Grace');
    await database.em().persistAndFlush(interview);
    const file = new RecordingFile(interview.id, 'screen');
    file.sizeBytes = 3_000_000_000;
    await database.em().persistAndFlush(file);
    const [row] = await database
      .em()
      .getConnection()
      .execute('select typeof(size_bytes) as size, size_bytes, typeof(updated_at) as updated, typeof(multipart_parts) as parts from recording_files where id = ?', [file.id]);
    expect(row).toEqual({ size: 'integer', size_bytes: 3_000_000_000, updated: 'integer', parts: 'text' });
  });

  it('is what a fresh database is built into, too', async () => {
    const { database } = await Database.open(path.join(tempDir(), 'fresh.sqlite'));
    opened.push(database);
    const schema = (await schemaOf(database)) as Array<{ type: string; tbl_name: string; sql?: string }>;
    expect(withoutLaterAdditions(schema)).toEqual(schemaBefore);
  });
});
