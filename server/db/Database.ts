import fs from 'node:fs';
import path from 'node:path';
import type { EntityManager, IMigrator, MikroORM, Options } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { DatabaseLocation } from '../../config/Config.ts';
import { InterviewSchema } from './Interview.ts';
import { RecordingArtifactSchema } from './RecordingArtifact.ts';
import { RecordingFileSchema } from './RecordingFile.ts';
import { TimelineEntrySchema } from './TimelineEntry.ts';
import { WebhookEventSchema } from './WebhookEvent.ts';
import type { SqlDialect } from './migrations/DialectMigration.ts';
import { migrationNames, migrationsList } from './migrations/index.ts';

/** The PostgreSQL advisory lock under which one node at a time migrates (any constant of our own). */
const MIGRATION_LOCK_KEY = 7_236_021_101;

/** How long a SQLite write waits for another process's lock before it fails (503 database_unavailable). */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** How long a health check waits for the database: a hung server must not hang /healthz too. */
const IS_UP_TIMEOUT_MS = 2000;

/**
 * The service's database — the SQLite file under DATA_DIR, or PostgreSQL for DATABASE_URL —
 * migrated to the latest schema when opened.
 */
export class Database {
  readonly #orm: MikroORM;
  #closed = false;

  readonly dialect: SqlDialect;

  private constructor(orm: MikroORM, dialect: SqlDialect) {
    this.#orm = orm;
    this.dialect = dialect;
  }

  /** A string is a SQLite file (as tests open one directly). */
  static async open(location: DatabaseLocation | string, settings: { logger?: Logger } = {}): Promise<{ database: Database; appliedMigrations: string[] }> {
    const target: DatabaseLocation = typeof location === 'string' ? { kind: 'sqlite', file: location } : location;
    const { logger } = settings;
    const options = {
      entities: [InterviewSchema, RecordingFileSchema, RecordingArtifactSchema, WebhookEventSchema, TimelineEntrySchema],
      migrations: { migrationsList: migrationsList(target.kind), transactional: true, allOrNothing: true, silent: true },
      discovery: { warnWhenNoEntities: false },
      allowGlobalContext: false,
      // knex's own warnings (a pooled PostgreSQL connection the server closed, say) go to the
      // service's log instead of the console.
      ...(logger
        ? {
            driverOptions: {
              log: {
                warn: (message: unknown) => logger.warn({ detail: message }, 'database driver warning'),
                error: (message: unknown) => logger.error({ detail: message }, 'database driver error'),
                deprecate: (method: unknown, alternative: unknown) => logger.debug({ method, alternative }, 'database driver deprecation'),
                debug: () => {},
              },
            },
          }
        : {}),
    } satisfies Options;
    let orm: MikroORM;
    // Each driver is loaded only when used: a single node never loads pg, nor a PostgreSQL node sqlite3.
    if (target.kind === 'sqlite') {
      fs.mkdirSync(path.dirname(target.file), { recursive: true });
      const { MikroORM: SqliteOrm } = await import('@mikro-orm/sqlite');
      orm = await SqliteOrm.init({ ...options, dbName: target.file });
    } else {
      const { MikroORM: PostgresOrm } = await import('@mikro-orm/postgresql');
      orm = await PostgresOrm.init({ ...options, clientUrl: target.url });
    }
    try {
      if (target.kind === 'sqlite') {
        // WAL: readers never wait for the writer, and a commit appends instead of rewriting pages —
        // the database shares the disk with every recording being written.
        await orm.em.getConnection().execute('pragma journal_mode = WAL');
        await orm.em.getConnection().execute('pragma synchronous = NORMAL');
        // Another process's write (a backup, the sqlite3 shell) makes ours wait this long before
        // failing with "database is locked" (sqlite3's default is 1 s).
        await orm.em.getConnection().execute(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      }
      // Most starts find the schema up to date: then the migrator is not even loaded (measured:
      // about 0.1 s of CPU of a start that a candidate waits for on a restart).
      if (!(await schemaUpToDate(orm))) {
        const migrate = async () => (await migratorOf(orm)).up();
        const applied = target.kind === 'postgresql' ? await oneNodeAtATime(orm, migrate) : await migrate();
        return { database: new Database(orm, target.kind), appliedMigrations: applied.map((m) => m.name) };
      }
      return { database: new Database(orm, target.kind), appliedMigrations: [] };
    } catch (error) {
      await orm.close(true);
      throw error;
    }
  }

  /** A fresh unit of work; use one per request or per lifecycle step. */
  em(): EntityManager {
    return this.#orm.em.fork();
  }

  /**
   * The connection pool now: connections running a query or transaction, and requests waiting for
   * one. SQLite has one connection, so on a busy machine the waiting are where time goes.
   */
  connections(): { inUse: number; waiting: number } {
    const pool = (this.#orm.em.getConnection() as unknown as AbstractSqlConnection).getKnex().client.pool as
      | { numUsed(): number; numPendingAcquires(): number }
      | undefined;
    return { inUse: pool?.numUsed() ?? 0, waiting: pool?.numPendingAcquires() ?? 0 };
  }

  async pendingMigrations(): Promise<string[]> {
    return (await (await migratorOf(this.#orm)).getPendingMigrations()).map((m) => m.name);
  }

  async isUp(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), IS_UP_TIMEOUT_MS);
    });
    const probe = this.#orm.em
      .getConnection()
      .execute('select 1')
      .then(
        () => true,
        () => false,
      );
    try {
      return await Promise.race([probe, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#orm.close(true);
  }
}

/** MikroORM's migrator (@mikro-orm/migrations), loaded on first use. */
async function migratorOf(orm: MikroORM): Promise<IMigrator> {
  const { Migrator } = await import('@mikro-orm/migrations');
  Migrator.register(orm);
  return orm.getMigrator();
}

/**
 * Whether every migration is recorded as applied, read from the migrator's own table
 * (mikro_orm_migrations, MikroORM's default name); a database without it has everything to do.
 */
async function schemaUpToDate(orm: MikroORM): Promise<boolean> {
  let rows: Array<{ name: string }>;
  try {
    rows = await orm.em.getConnection().execute<Array<{ name: string }>>('select name from mikro_orm_migrations');
  } catch {
    return false;
  }
  // MikroORM stores a name without an extension; older releases kept `.ts`/`.js` on it.
  const applied = new Set(rows.map((row) => row.name.replace(/\.[jt]s$/, '')));
  return migrationNames.every((name) => applied.has(name));
}

/**
 * Nodes of a cluster started together on a fresh PostgreSQL would each run the migrations, and all
 * but one fail on the tables another just created. The migrations run under a session advisory
 * lock held by a connection of its own: the others wait, then find nothing pending.
 */
async function oneNodeAtATime<T>(orm: MikroORM, run: () => Promise<T>): Promise<T> {
  const knex = (orm.em.getConnection() as unknown as AbstractSqlConnection).getKnex();
  const connection: unknown = await knex.client.acquireConnection();
  try {
    await knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
    try {
      return await run();
    } finally {
      await knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
