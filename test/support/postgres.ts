// A throwaway PostgreSQL 15 (Debian's) for tests: its own cluster in a temp dir, on a free
// loopback port, run as the `postgres` OS user (PostgreSQL refuses to run as root). The harness
// runs the postmaster itself (not pg_ctl's daemon) so it holds its pid, stops it by that pid,
// and removes the directory.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { launchRetryingTakenPort } from './takenPortRetry.ts';
import { freePort, waitFor } from './testConfig.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';
/** The superuser initdb creates; local connections are trusted, so no password. */
const SUPERUSER = 'postgres';

export interface PostgresServer {
  port: number;
  /** The data directory's parent, removed by stop(). */
  dir: string;
  /** The postmaster's pid (changes on restart). */
  readonly pid: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url: (database?: string) => string;
  /** Creates an empty database and returns its URL. */
  createDatabase: (name: string) => Promise<string>;
  /** Runs one statement on `database` (a fresh connection each time). */
  query: <T extends pg.QueryResultRow = pg.QueryResultRow>(database: string, sql: string, params?: unknown[]) => Promise<T[]>;
  /** Stops the server (fast shutdown: sessions are cut) and starts it again on the same port and data. */
  restart: () => Promise<void>;
  /** Fast shutdown; resolves once the postmaster has exited. The data stays until stop(). */
  halt: () => Promise<void>;
  /** Starts it again after halt(), on the same port and data. */
  resume: () => Promise<void>;
  /** Stops the server and removes its directory. Idempotent. */
  stop: () => Promise<void>;
  /** The server's log lines (stderr), for a failing test's message. */
  log: string[];
}

function osUser(name: string): { uid: number; gid: number } {
  const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim()));
  return { uid: uid!, gid: gid! };
}

export async function startPostgres(options: { startTimeoutMs?: number } = {}): Promise<PostgresServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  if (!fs.existsSync(`${BIN}/initdb`)) throw new Error(`no ${BIN}/initdb: PostgreSQL 15 is not installed (npm test's bootstrap installs it: apt-get install postgresql)`);
  const owner = osUser(OS_USER);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interview-ingest-pg-'));
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'socket');
  fs.mkdirSync(socketDir);
  fs.chownSync(dir, owner.uid, owner.gid);
  fs.chownSync(socketDir, owner.uid, owner.gid);
  const log: string[] = [];
  const asOwner = { uid: owner.uid, gid: owner.gid, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' } };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  // A test process that dies without stop() must not leave a postmaster behind: SIGQUIT is the
  // immediate shutdown, in which the postmaster takes its backends down with it.
  const onExit = () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGQUIT');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  try {
    // --no-sync and fsync=off: a test database need not survive a power cut, and syncing costs seconds.
    execFileSync(`${BIN}/initdb`, ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync', '--no-instructions'], {
      ...asOwner,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    process.removeListener('exit', onExit);
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as { stderr?: Buffer }).stderr?.toString() ?? String(error)}`);
  }
  // postgres needs its port in its command line (no port 0): a free one is picked, and picked again
  // at the first start if something took it before postgres listened (startFirst below).
  let port = await freePort();
  const url = (database = 'postgres') => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;

  const query = async <T extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []): Promise<T[]> => {
    // Bounded: something else on the port (not PostgreSQL) may accept and never answer.
    const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 2000 });
    // A server stopped under a connected client makes the client emit 'error'; the query rejects anyway.
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  const launch = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) throw new Error('PostgreSQL is already running');
    const started = spawn(
      `${BIN}/postgres`,
      ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      { ...asOwner, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    started.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) log.push(line);
      if (log.length > 500) log.splice(0, log.length - 500);
    });
    let outcome: 'ready' | 'exited';
    try {
      outcome = await waitFor(
        async () => {
          if (started.exitCode !== null || started.signalCode !== null) return 'exited' as const;
          await query('postgres', 'select 1');
          return 'ready' as const;
        },
        { timeoutMs: startTimeoutMs, intervalMs: 50, what: `PostgreSQL to accept connections on port ${port}` },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${log.slice(-20).join('\n')}`);
    }
    if (outcome === 'exited') throw new Error(`postgres exited while starting (${started.exitCode ?? started.signalCode})\n${log.slice(-20).join('\n')}`);
  };

  const halt = async (): Promise<void> => {
    const running = child;
    if (!running?.pid || running.exitCode !== null || running.signalCode !== null) return;
    // SIGINT: fast shutdown (cuts sessions, rolls back, writes a checkpoint).
    process.kill(running.pid, 'SIGINT');
    await exited;
  };

  const server: PostgresServer = {
    get port() {
      return port;
    },
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await query('postgres', `create database "${name}"`);
      return url(name);
    },
    query,
    async restart() {
      await halt();
      await launch();
    },
    halt,
    resume: launch,
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt();
      process.removeListener('exit', onExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    log,
  };
  try {
    await launchRetryingTakenPort(launch, log, (next) => (port = next));
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
