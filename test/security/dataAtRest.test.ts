import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { publishSynthetic, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { randomRtcPorts } from '../support/rtcPorts.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Every entry under `dir` that others than its owner could read, write or enter. */
function openEntries(dir: string): string[] {
  const found: string[] = [];
  const visit = (entry: string): void => {
    const stat = fs.lstatSync(entry);
    if (stat.isSymbolicLink()) return;
    const mode = stat.mode & 0o777;
    if (stat.isDirectory() ? mode !== 0o700 : (mode & 0o077) !== 0) found.push(`${path.relative(dir, entry) || '.'} ${mode.toString(8)}`);
    if (stat.isDirectory()) for (const name of fs.readdirSync(entry)) visit(path.join(entry, name));
  };
  visit(dir);
  return found;
}

describe('data at rest is private whatever the umask', () => {
  let t: TestService | undefined;
  let publisher: SyntheticPublisher | undefined;
  const umask = process.umask();

  afterEach(async () => {
    await publisher?.close();
    await t?.close();
    process.umask(umask);
  });

  it('keeps DATA_DIR 0700 and the database, secrets, recordings and stored objects 0600, also what an older version left open', async () => {
    // Before: database 0644, recordings and object store 0755 under a permissive umask.
    process.umask(0);
    const dataDir = tempDir('interview-ingest-modes-');
    fs.chmodSync(dataDir, 0o777);
    fs.mkdirSync(path.join(dataDir, 'recordings', 'left-by-an-older-version'), { recursive: true, mode: 0o777 });
    fs.writeFileSync(path.join(dataDir, 'recordings', 'left-by-an-older-version', 'screen.webm'), 'x', { mode: 0o666 });
    expect(openEntries(dataDir).length).toBeGreaterThan(0);

    t = await startTestService({ DATA_DIR: dataDir });
    const interview = await t.createInterview({ durationSeconds: 10 });
    publisher = await publishSynthetic(t, interview.id);
    await waitForRecordedBytes(t, interview.id, 100_000);
    // While recording: segments, the live remux, the database's WAL.
    const whileRecording = openEntries(dataDir);
    await waitForStatus(t, interview.id, 'completed', 60_000);
    const afterUpload = openEntries(dataDir);
    const stored = fs.readdirSync(path.join(dataDir, 'object-store'), { recursive: true });
    expect(stored.length).toBeGreaterThan(0);
    expect({ whileRecording, afterUpload }).toEqual({ whileRecording: [], afterUpload: [] });
  });
});

describe('a configured admin token is never printed or logged', () => {
  const runs: Array<{ kill: () => void }> = [];
  afterAll(() => runs.forEach((run) => run.kill()));

  async function startMain(env: Record<string, string>): Promise<{ output: () => string; port: number; stop: () => Promise<void> }> {
    // PORT 0: the service prints the port it got.
    const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['server/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MEDIASOUP_WORKERS: '1', RTC_LISTEN_IP: '127.0.0.1', LOG_LEVEL: 'trace', ...randomRtcPorts(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    runs.push({ kill: () => child.kill('SIGKILL') });
    const port = Number((await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output), { timeoutMs: 30_000, what: 'the printed address' }))[1]);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000, what: '/healthz 200' });
    await waitFor(() => output.includes('create an interview:'), { what: 'the start-up banner' });
    return {
      output: () => output,
      port,
      stop: async () => {
        child.kill('SIGTERM');
        await exited;
      },
    };
  }

  let dataDir: string;
  beforeAll(() => {
    dataDir = tempDir('interview-ingest-token-');
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('prints a generated token on the start that made it only, and a configured one never', async () => {
    const first = await startMain({ DATA_DIR: dataDir });
    const generated = /admin token \(generated now[^:]*: (\S+)/.exec(first.output())?.[1];
    expect(generated).toBeTruthy();
    await first.stop();

    const second = await startMain({ DATA_DIR: dataDir });
    await second.stop();
    expect(second.output()).not.toContain(generated!);

    // Before: the configured token was printed at every start.
    const configured = 'configured-admin-token-6f1c2b9e';
    const third = await startMain({ DATA_DIR: dataDir, ADMIN_TOKEN: configured });
    const api = await fetch(`http://127.0.0.1:${third.port}/api/interviews`, { headers: { authorization: `Bearer ${configured}` } });
    expect(api.status).toBe(200);
    const refused = await fetch(`http://127.0.0.1:${third.port}/api/interviews`, { headers: { authorization: `Bearer ${configured}x` } });
    expect(refused.status).toBe(401);
    await third.stop();
    expect(third.output()).toContain('admin token: the configured ADMIN_TOKEN');
    expect(third.output()).not.toContain(configured);
  });
});
