import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort, tempDir, waitFor } from '../support/testConfig.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

function startMain(env: Record<string, string>) {
  const child = spawn(tsx, ['server/main.ts'], { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('the service process (npm start)', () => {
  it('exits 1 with one message naming an invalid variable', async () => {
    const run = startMain({ PORT: 'not-a-port', DATA_DIR: tempDir() });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toMatch(/^Invalid configuration:\n\s+PORT: .*"not-a-port"/m);
  });

  it('answers /healthz, prints a curl that creates an interview, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const run = startMain({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: tempDir(), MEDIASOUP_WORKERS: '1', RTC_LISTEN_IP: '127.0.0.1' });
    try {
      const health = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
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
