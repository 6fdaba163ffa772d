// A throwaway redis-server (Debian's) for tests: a temp dir, a free loopback port, no
// persistence. The harness holds the server's pid, stops it by that pid and removes the dir.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'redis';
import { launchRetryingTakenPort } from './takenPortRetry.ts';
import { freePort, waitFor } from './testConfig.ts';

export interface RedisServer {
  port: number;
  dir: string;
  /** The server's pid (changes on restart). */
  readonly pid: number;
  /** redis://127.0.0.1:<port> */
  url: string;
  /** Stops the server and starts it again on the same port (its data is gone: nothing is saved). */
  restart: () => Promise<void>;
  /**
   * SIGSTOP: the server keeps its connections but answers nothing (a hung or partitioned Redis,
   * where a client without a command timeout would wait for ever). `thaw()` resumes it (SIGCONT).
   */
  freeze: () => void;
  thaw: () => void;
  /** Stops the server and removes its directory. Idempotent. */
  stop: () => Promise<void>;
  /** The server's output lines, for a failing test's message. */
  log: string[];
}

/** One PING through a fresh client: true when the server answered PONG. */
export async function pingRedis(url: string): Promise<boolean> {
  // No reconnecting: one attempt, and a refused connection is an answer.
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
  client.on('error', () => {});
  try {
    const answered = (async () => {
      await client.connect();
      return (await client.ping()) === 'PONG';
    })().catch(() => false);
    // Bounded: something else on the port (not Redis) may accept and never answer.
    return await Promise.race([answered, delay(1500, false, { ref: false })]);
  } finally {
    if (client.isOpen) client.destroy();
  }
}

export async function startRedis(options: { startTimeoutMs?: number } = {}): Promise<RedisServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interview-ingest-redis-'));
  // redis-server takes port 0 as "no TCP at all": a free port is picked, and picked again at the
  // first start if something took it before redis listened.
  let port = await freePort();
  const urlOf = () => `redis://127.0.0.1:${port}`;
  const log: string[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  // A test process that dies without stop() must not leave a server behind.
  const onExit = () => {
    if (running() && child?.pid) process.kill(child.pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const launch = async (): Promise<void> => {
    if (running()) throw new Error('redis-server is already running');
    // No RDB snapshots and no AOF: a test's Redis starts empty and writes nothing to disk.
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) log.push(line);
      if (log.length > 500) log.splice(0, log.length - 500);
    };
    started.stdout?.on('data', onData);
    started.stderr?.on('data', onData);
    started.once('error', (error) => log.push(`spawn failed: ${error.message}`));
    let outcome: 'ready' | 'exited';
    try {
      outcome = await waitFor(async (): Promise<'ready' | 'exited' | undefined> => (!running() ? 'exited' : (await pingRedis(urlOf())) ? 'ready' : undefined), {
        timeoutMs: startTimeoutMs,
        intervalMs: 25,
        what: `redis-server to answer PING on port ${port}`,
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${log.slice(-20).join('\n')}`);
    }
    if (outcome === 'exited') throw new Error(`redis-server exited while starting\n${log.slice(-20).join('\n')}`);
  };

  const halt = async (): Promise<void> => {
    if (!running() || !child?.pid) return;
    // SIGTERM: redis-server's clean shutdown (with --save '' it writes nothing).
    process.kill(child.pid, 'SIGTERM');
    await exited;
  };

  const server: RedisServer = {
    get port() {
      return port;
    },
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    get url() {
      return urlOf();
    },
    async restart() {
      await halt();
      await launch();
    },
    freeze() {
      if (!running() || !child?.pid) throw new Error('redis-server is not running');
      process.kill(child.pid, 'SIGSTOP');
    },
    thaw() {
      if (child?.pid && running()) process.kill(child.pid, 'SIGCONT');
    },
    async stop() {
      if (stopped) return;
      // A frozen server does not act on SIGTERM until it runs again.
      server.thaw();
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
