// The service as a real child process (the bundle dist/server/main.mjs, as `npm start` and the
// systemd unit run it; rebuilt first when a source changed), as it runs in production: its own
// process group (detached) so a test can SIGKILL the service with its ffmpeg children and
// mediasoup workers at once, find those children by pid, and start it again on the same port
// and DATA_DIR. Its JSON log lines (pino) are collected for the test to read.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { randomRtcPorts } from './rtcPorts.ts';
import { tempDir, waitFor } from './testConfig.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ADMIN_TOKEN = 'fault-admin-token-0123456789';

/** The server as production runs it (scripts/build-server.mjs). */
const SERVER_BUNDLE = 'dist/server/main.mjs';

/** Builds the server's bundle when a source changed since the last build (fast when none did). */
function buildServer(): void {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-server.mjs')], { cwd: repoRoot, stdio: 'pipe' });
}

export interface LogLine {
  time: number;
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServiceEnv {
  PORT: string;
  DATA_DIR: string;
  RTC_MIN_PORT: string;
  RTC_MAX_PORT: string;
  [name: string]: string;
}

/**
 * A fresh environment (DATA_DIR, RTC slice) for a service that will be restarted with it. PORT is
 * 0: the service binds the port the system picks and prints it; `ServiceProcess.start` reads it
 * back and writes PORT and PUBLIC_URL into this env, so a restart comes back on the same port.
 */
export async function serviceEnv(extra: Record<string, string> = {}): Promise<ServiceEnv> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: tempDir('interview-ingest-fault-'),
    MEDIASOUP_WORKERS: '1',
    RTC_LISTEN_IP: '127.0.0.1',
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    // Admission measures the machine, which the suite itself keeps busy: on only where a test asks.
    ADMISSION_MAX_CPU_PERCENT: '0',
    // Tests call the admin API from one address far more often than an operator (and send wrong
    // tokens on purpose): the rate limit is on only where a test asks. A SIGTERM shuts down at once
    // unless a test asks for the drain window.
    ADMIN_RATE_LIMIT_PER_MINUTE: '1000000',
    ADMIN_FAILED_AUTH_PER_MINUTE: '1000000',
    DRAIN_SECONDS: '0',
    // A test's recording lasts seconds: it gets its filmstrip all the same, a tile every 2 s.
    FILMSTRIP_MIN_SECONDS: '0',
    FILMSTRIP_INTERVAL_SECONDS: '2',
    ...randomRtcPorts(),
    ...extra,
  };
}

interface ProcessInfo {
  pid: number;
  comm: string;
}

/** Processes of a process group, from /proc (comm is cut at 15 characters by the kernel). */
function processesInGroup(pgid: number): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields: state ppid pgrp ...; zombies are already dead.
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') found.push({ pid: Number(entry), comm });
  }
  return found;
}

export class ServiceProcess {
  readonly logs: LogLine[] = [];
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    readonly env: ServiceEnv,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      }),
    );
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        this.output.push(line);
        if (this.output.length > 2000) this.output.shift();
        if (!line.startsWith('{')) continue;
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // Not a log line.
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }

  /**
   * Starts the service and resolves once it listens (or rejects with its output). `entry` is the
   * script run instead of the server's bundle (relative to the repository; a TypeScript one, e.g.
   * test/support/smallPartsMain.ts, runs through tsx).
   */
  static async start(env: ServiceEnv, timeoutMs = 30_000, entry = SERVER_BUNDLE): Promise<ServiceProcess> {
    if (entry === SERVER_BUNDLE) buildServer();
    // Node itself (with tsx as a loader for TypeScript), not the tsx CLI: the CLI relays a SIGTERM
    // to its child and SIGKILLs it unless the child confirms the signal within 30 ms, which a busy
    // service missed (seen in CI: the service gone 237–285 ms after SIGTERM, without a log line).
    const child = spawn(process.execPath, entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(env, child);
    try {
      await waitFor(
        () => {
          if (service.#exit) throw new Error(`the service exited (${JSON.stringify(service.#exit)})`);
          return service.output.some((line) => line.includes('interview-ingest is listening on'));
        },
        { timeoutMs, intervalMs: 50, what: 'the service to listen' },
      );
      // PORT 0: the port it got, for the test and for a restart on the same port.
      // The 'listening' log line names it (PUBLIC_URL may be a proxy's); at a quieter LOG_LEVEL, the
      // printed URL, which is this port's when PUBLIC_URL is unset.
      if (env.PORT === '0') {
        const logged = service.logs.find((line) => line.msg === 'listening')?.port;
        const printed = service.output.find((line) => line.includes('interview-ingest is listening on'))!.split('listening on ')[1]!.trim();
        if (logged === undefined && env.PUBLIC_URL !== undefined) throw new Error('PORT 0 with PUBLIC_URL set needs LOG_LEVEL info to read the bound port back');
        env.PORT = String(logged ?? new URL(printed).port);
        env.PUBLIC_URL ??= printed;
      }
    } catch (error) {
      await service.kill();
      throw new Error(`${(error as Error).message}\n${service.output.slice(-30).join('\n')}`);
    }
    return service;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return this.env.PUBLIC_URL!;
  }

  get hasExited(): boolean {
    return this.#exit !== undefined;
  }

  /** The service's children of a kind: 'ffmpeg' or 'mediasoup-worke' (the kernel's cut name). */
  children(comm: string): number[] {
    return processesInGroup(this.pid)
      .filter((info) => info.comm === comm)
      .map((info) => info.pid);
  }

  async api<T = unknown>(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Log lines whose message contains `text`. */
  logged(text: string): LogLine[] {
    return this.logs.filter((line) => typeof line.msg === 'string' && line.msg.includes(text));
  }

  /** SIGKILL of the whole process group (service, ffmpeg, mediasoup workers); resolves once all are gone. */
  async kill(): Promise<void> {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await this.exited;
    await waitFor(() => processesInGroup(this.pid).length === 0, { timeoutMs: 10_000, what: 'every process of the group to exit' });
  }

  /** SIGTERM to the service (as a deploy does); resolves with its exit once it and its children are gone. */
  async terminate(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill('SIGTERM');
    const exit = await Promise.race([this.exited, delay(timeoutMs, undefined, { ref: false })]);
    if (!exit) {
      await this.kill();
      throw new Error(`the service did not exit within ${timeoutMs} ms of SIGTERM`);
    }
    await waitFor(() => processesInGroup(this.pid).length === 0, { timeoutMs: 10_000, what: 'every process of the group to exit' });
    return exit;
  }
}
