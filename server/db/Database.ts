import fs from 'node:fs';
import path from 'node:path';
import { MikroORM, type EntityManager } from '@mikro-orm/sqlite';
import { Migrator } from '@mikro-orm/migrations';
import { InterviewSchema } from './Interview.ts';
import { RecordingFileSchema } from './RecordingFile.ts';
import { WebhookEventSchema } from './WebhookEvent.ts';
import { migrationsList } from './migrations/index.ts';

/** The SQLite database under DATA_DIR, migrated to the latest schema when opened. */
export class Database {
  readonly #orm: MikroORM;
  #closed = false;

  private constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  static async open(file: string): Promise<{ database: Database; appliedMigrations: string[] }> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const orm = await MikroORM.init({
      dbName: file,
      entities: [InterviewSchema, RecordingFileSchema, WebhookEventSchema],
      extensions: [Migrator],
      migrations: { migrationsList, transactional: true, allOrNothing: true, silent: true },
      discovery: { warnWhenNoEntities: false },
      allowGlobalContext: false,
    });
    try {
      // WAL: readers never wait for the writer, and a commit appends instead of rewriting pages —
      // the database shares the disk with every recording being written.
      await orm.em.getConnection().execute('pragma journal_mode = WAL');
      await orm.em.getConnection().execute('pragma synchronous = NORMAL');
      const applied = await orm.getMigrator().up();
      return { database: new Database(orm), appliedMigrations: applied.map((m) => m.name) };
    } catch (error) {
      await orm.close(true);
      throw error;
    }
  }

  /** A fresh unit of work; use one per request or per lifecycle step. */
  em(): EntityManager {
    return this.#orm.em.fork();
  }

  async pendingMigrations(): Promise<string[]> {
    return (await this.#orm.getMigrator().getPendingMigrations()).map((m) => m.name);
  }

  async isUp(): Promise<boolean> {
    try {
      await this.#orm.em.getConnection().execute('select 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#orm.close(true);
  }
}
