// The server runs as one bundle (scripts/build-server.mjs → dist/server/main.mjs): `npm start`, the
// systemd unit and the tests' service processes start it, so a start loads JavaScript instead of
// transpiling TypeScript. Checked on a copy of the sources (with the real node_modules), so editing
// a source here never touches the tree other tests run from: the build is idempotent, a changed
// source makes the old bundle refuse to start, and the rebuilt bundle runs the change.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../support/serviceProcess.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { unitSettings } from '../support/unitSettings.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
/** What the bundle is built from (the build's own metadata lists no source outside these). */
const SOURCE_DIRS = ['server', 'config', 'shared', 'recorder-pipeline', 'scripts'];
const BUNDLE = 'dist/server/main.mjs';

describe('the server bundle', () => {
  let copy = '';

  beforeAll(() => {
    copy = tempDir('server-bundle-');
    for (const dir of SOURCE_DIRS) fs.cpSync(path.join(repoRoot, dir), path.join(copy, dir), { recursive: true });
    for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(repoRoot, file), path.join(copy, file));
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));
  });

  afterAll(() => {
    if (copy) fs.rmSync(copy, { recursive: true, force: true });
  });

  /** `node scripts/build-server.mjs` in the copy: its one line of output. */
  async function build(...args: string[]): Promise<{ code: number; output: string }> {
    return run(process.execPath, [path.join(copy, 'scripts', 'build-server.mjs'), ...args], { cwd: copy }).then(
      ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}`.trim() }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: `${error.stdout}${error.stderr}`.trim() }),
    );
  }

  /** Starts the copy's bundle; resolves with its output once it listens (or exits), and how long that took. */
  async function startBundle(): Promise<{ output: string; exit: number | null; healthyAfterMs: number | undefined; stop: () => Promise<void> }> {
    const env = await serviceEnv();
    const started = performance.now();
    const child = spawn(process.execPath, [BUNDLE], { cwd: copy, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let exit: number | null | undefined;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => child.once('exit', (code) => ((exit = code), resolve())));
    let healthyAfterMs: number | undefined;
    await waitFor(
      async () => {
        if (exit !== undefined) return true;
        // PORT 0: the banner main.ts prints once the service listens names the port it got.
        const url = env.PUBLIC_URL ?? / is listening on (\S+)/.exec(output)?.[1];
        if (url === undefined) return false;
        const answer = await fetch(`${url}/healthz`).catch(() => undefined);
        if (answer?.status === 200) healthyAfterMs = performance.now() - started;
        return healthyAfterMs !== undefined && output.includes('is listening on');
      },
      { timeoutMs: 30_000, intervalMs: 20, what: 'the bundle to answer /healthz or exit' },
    );
    return {
      output,
      exit: exit ?? null,
      healthyAfterMs,
      stop: async () => {
        if (exit === undefined) child.kill('SIGINT');
        await exited;
        fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
      },
    };
  }

  it('is what `npm start` and the systemd unit run', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // The bootstrap first (it builds the bundle when a source changed), then the bundle itself.
    expect(pkg.scripts.start).toBe(`node scripts/bootstrap.mjs --for start && node ${BUNDLE}`);
    expect(fs.readFileSync(path.join(repoRoot, 'scripts', 'bootstrap.mjs'), 'utf8')).toMatch(/await buildServer\(\)/);
    const unit = unitSettings(fs.readFileSync(path.join(repoRoot, 'deploy', 'interview-ingest.service'), 'utf8'));
    expect(unit.get('ExecStart')).toBe(`/usr/bin/node ${BUNDLE}`);
  });

  it('is built once, then left alone until a source changes; a stale bundle refuses to start and the rebuilt one runs the change', async () => {
    const first = await build();
    expect(first).toMatchObject({ code: 0, output: expect.stringMatching(/built \(not built yet\)/) });
    expect(await build('--check')).toMatchObject({ code: 0 });
    const builtAt = fs.statSync(path.join(copy, BUNDLE)).mtimeMs;
    expect(await build()).toMatchObject({ code: 0, output: expect.stringMatching(/up to date$/) });
    expect(fs.statSync(path.join(copy, BUNDLE)).mtimeMs).toBe(builtAt);

    // A source the bundle holds changes (what the service prints once it listens).
    const mainFile = path.join(copy, 'server', 'main.ts');
    const source = fs.readFileSync(mainFile, 'utf8');
    expect(source).toContain('interview-ingest is listening on');
    fs.writeFileSync(mainFile, source.replace('interview-ingest is listening on', 'interview-ingest (rebuilt) is listening on'));
    const stale = await build('--check');
    expect(stale.code).toBe(1);
    expect(stale.output).toMatch(/stale \(server\/main\.ts changed\)/);

    // Run as it is, the old bundle says why and exits before it listens.
    const refused = await startBundle();
    await refused.stop();
    expect(refused.exit).toBe(1);
    expect(refused.output).toMatch(/this build of the server is stale \(server\/main\.ts changed\)/);
    expect(refused.output).not.toContain('is listening on');

    expect(await build()).toMatchObject({ code: 0, output: expect.stringMatching(/built \(server\/main\.ts changed\)/) });
    const rebuilt = await startBundle();
    await rebuilt.stop();
    console.log(`the rebuilt bundle answered /healthz 200 ${rebuilt.healthyAfterMs?.toFixed(0)} ms after it was started`);
    expect(rebuilt.exit).toBeNull();
    expect(rebuilt.output).toContain('interview-ingest (rebuilt) is listening on');
  });
});
