import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Database } from '../../../server/db/Database.ts';
import { Interview } from '../../../server/db/Interview.ts';
import { migrationNames } from '../../../server/db/migrations/index.ts';
import { tempDir } from '../../support/testConfig.ts';

describe('database migrations', () => {
  it('create the schema on an empty database', async () => {
    const file = path.join(tempDir(), 'nested', 'db.sqlite');
    const { database, appliedMigrations } = await Database.open(file);
    try {
      expect(appliedMigrations).toEqual(migrationNames);
      expect(await database.pendingMigrations()).toEqual([]);
      const em = database.em();
      const interview = new Interview(600, 'Ada');
      await em.persistAndFlush(interview);
      const loaded = await database.em().findOneOrFail(Interview, { id: interview.id });
      expect(loaded).toMatchObject({ durationSeconds: 600, candidateName: 'Ada', status: 'created', score: 0, screenVideo: '', candidateVideo: '' });
    } finally {
      await database.close();
    }
  });

  it('apply nothing to an already-migrated database and keep its rows', async () => {
    const file = path.join(tempDir(), 'db.sqlite');
    const first = await Database.open(file);
    const interview = new Interview(60, null);
    await first.database.em().persistAndFlush(interview);
    await first.database.close();

    const second = await Database.open(file);
    try {
      expect(second.appliedMigrations).toEqual([]);
      expect(await second.database.em().count(Interview)).toBe(1);
    } finally {
      await second.database.close();
    }
  });

  it('keep externalId unique: a second interview with one is refused by the schema itself, while any number have none', async () => {
    const { database } = await Database.open(path.join(tempDir(), 'db.sqlite'));
    try {
      await database.em().persistAndFlush([new Interview(60, null, { externalId: 'ats:42' }), new Interview(60, null), new Interview(60, null)]);
      await expect(database.em().persistAndFlush(new Interview(90, null, { externalId: 'ats:42' }))).rejects.toThrow(/UNIQUE constraint failed: interviews\.external_id/);
      expect(await database.em().count(Interview, { externalId: null })).toBe(2);
      const stored = await database.em().findOneOrFail(Interview, { externalId: 'ats:42' });
      expect(stored.durationSeconds).toBe(60);
    } finally {
      await database.close();
    }
  });

  it('keep metadata as JSON and returnUrl as text', async () => {
    const { database } = await Database.open(path.join(tempDir(), 'db.sqlite'));
    try {
      const metadata = { jobId: 7, tags: ['backend', { level: 'senior' }], note: 'naïve “quotes”' };
      const interview = new Interview(60, null, { returnUrl: 'https://app.example.com/interview/end/7/', metadata });
      await database.em().persistAndFlush(interview);
      const loaded = await database.em().findOneOrFail(Interview, { id: interview.id });
      expect({ returnUrl: loaded.returnUrl, metadata: loaded.metadata, externalId: loaded.externalId }).toEqual({
        returnUrl: 'https://app.example.com/interview/end/7/',
        metadata,
        externalId: null,
      });
    } finally {
      await database.close();
    }
  });

  it('enforce a non-negative score and 500-character URLs in the schema itself', async () => {
    const { database } = await Database.open(path.join(tempDir(), 'db.sqlite'));
    try {
      const connection = database.em().getConnection();
      const insert = (score: number, url: string) =>
        connection.execute(
          "insert into interviews (id, duration_seconds, created_at, score, screen_video) values (?, 60, '2026-01-01', ?, ?)",
          [crypto.randomUUID(), score, url],
        );
      await expect(insert(-1, '')).rejects.toThrow(/CHECK constraint/);
      await expect(insert(0, `https://x/${'a'.repeat(500)}`)).rejects.toThrow(/CHECK constraint/);
      await expect(insert(3, 'https://media.example.com/a.webm')).resolves.toBeDefined();
    } finally {
      await database.close();
    }
  });
});
