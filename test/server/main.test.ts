import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { randomRtcPorts } from '../support/rtcPorts.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

/** Processes whose environment holds `entry` (e.g. a unique DATA_DIR=…), from /proc. */
function pidsWithEnv(entry: string): number[] {
  return fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  });
}

function startMain(env: Record<string, string>) {
  const child = spawn(tsx, ['server/main.ts'], { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', ADMISSION_MAX_CPU_PERCENT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('the service process (npm start)', () => {
  it('logs pretty, colored lines at a terminal and JSON lines into a pipe', async () => {
    const env = { ...process.env, LOG_LEVEL: 'info', ADMISSION_MAX_CPU_PERCENT: '0', PORT: '0', HOST: '127.0.0.1', DATA_DIR: tempDir(), MEDIASOUP_WORKERS: '1', RTC_LISTEN_IP: '127.0.0.1', ...randomRtcPorts() };
    // script(1) gives the service a pseudo-terminal as stdout, as a person's shell would.
    const child = spawn('script', ['-qfec', `${tsx} server/main.ts`, '/dev/null'], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => /INFO.*database migrated/.test(output) && output.includes('interview-ingest is listening'), { timeoutMs: 30_000, what: 'pretty start-up lines' });
      // ANSI colors, a level word, no JSON object per line.
      expect(output).toMatch(/\u001b\[\d+m/);
      expect(output.split('\n').filter((line) => line.trimStart().startsWith('{"level"'))).toEqual([]);
    } finally {
      // The service runs in script's own session: find it by its unique DATA_DIR and stop it.
      for (const pid of pidsWithEnv(`DATA_DIR=${env.DATA_DIR}`)) process.kill(pid, 'SIGTERM');
    }
    await exited;
    await waitFor(() => pidsWithEnv(`DATA_DIR=${env.DATA_DIR}`).length === 0, { what: 'every process of the terminal run to exit' });
    const piped = startMain({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: tempDir(), MEDIASOUP_WORKERS: '1', RTC_LISTEN_IP: '127.0.0.1', LOG_LEVEL: 'info', ...randomRtcPorts() });
    try {
      await waitFor(() => piped.output().stdout.includes('interview-ingest is listening'), { timeoutMs: 30_000, what: 'the service to listen' });
      const line = piped.output().stdout.split('\n').find((l) => l.includes('database migrated'))!;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(parsed).toMatchObject({ level: 30, msg: 'database migrated' });
      // One key per field: no line repeats a key (pino children that rebind a key would).
      for (const l of piped.output().stdout.split('\n').filter((x) => x.startsWith('{'))) {
        const keys = [...l.matchAll(/"([\w-]+)":/g)].map((m) => m[1]);
        const topLevel = Object.keys(JSON.parse(l));
        expect(keys.filter((k) => topLevel.includes(k!)).length).toBe(topLevel.length);
      }
    } finally {
      piped.child.kill('SIGTERM');
    }
    expect(await piped.exited).toBe(0);
  });

  it('exits 1 with one message naming an invalid variable', async () => {
    const run = startMain({ PORT: 'not-a-port', DATA_DIR: tempDir() });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toMatch(/^Invalid configuration:\n\s+PORT: .*"not-a-port"/m);
  });

  it('with PORT=0 listens on the port the system picks and prints it; answers /healthz, prints a curl that creates an interview, and stops cleanly on SIGTERM', async () => {
    const run = startMain({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: tempDir(), MEDIASOUP_WORKERS: '1', RTC_LISTEN_IP: '127.0.0.1', ...randomRtcPorts() });
    try {
      // The printed URL is the bound port's (PUBLIC_URL unset: http://HOST:<port>).
      const url = await waitFor(() => /interview-ingest is listening on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(run.output().stdout), { timeoutMs: 30_000, what: 'the printed address' });
      const port = Number(url[2]);
      expect(port).toBeGreaterThan(0);
      const health = await waitFor(async () => {
        const response = await fetch(`${url[1]}/healthz`);
        return response.status === 200 ? response : null;
      }, { timeoutMs: 30_000, what: '/healthz 200' });
      expect(await health.json()).toMatchObject({ status: 'ok' });

      const curl = await waitFor(() => /^\s+(curl .+)$/m.exec(run.output().stdout)?.[1], { what: 'the printed curl command' });
      const { stdout } = await promisify(execFile)('sh', ['-c', curl]);
      const created = JSON.parse(stdout);
      expect(created.status).toBe('created');
      const token = /admin token[^:]*: (\S+)/.exec(run.output().stdout)![1];
      const fetched = await fetch(`http://localhost:${port}/api/interviews/${created.id}`, { headers: { authorization: `Bearer ${token}` } });
      expect(await fetched.json()).toMatchObject({ id: created.id, durationSeconds: 600, candidateName: 'Ada' });
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });
});
