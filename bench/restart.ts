// The bench's restart part: what a candidate loses when the service restarts (issue 24: "Back in
// under a second").
// 1. start → /healthz 200: the service started as a process of its own on an empty DATA_DIR (the
//    database migrated on the first run, then found up to date, as on a restart), /healthz polled
//    every 10 ms from the spawn; several runs, the median. Per way of starting: `bundle` (node
//    dist/server/main.mjs, what npm start and the systemd unit run) and `tsx` (node --import tsx
//    server/main.ts, how it started before the bundle).
// 2. SIGKILL → media back: one live interview with a real candidate page (Chromium, fake devices);
//    every few seconds the whole process group (service, ffmpeg, mediasoup worker) is SIGKILLed,
//    stays down for a while (as systemd's RestartSec and a slow start would) and is started again
//    on the same port and DATA_DIR. Measured per kill: spawn → /healthz 200, /healthz 200 → media
//    flowing into a new segment (the page reconnected, joined, re-created its transport and
//    republished; the service's own log line), and the `service restarted` gap stored on the
//    interview.
// Runs against whatever tree it sits in: `--restart-modes tsx` on a checkout without the bundle.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { buildClient, launchBrowser, type TestBrowser } from '../test/support/browser.ts';
import { ServiceProcess, serviceEnv, type ServiceEnv } from '../test/support/serviceProcess.ts';
import { waitFor } from '../test/support/testConfig.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');

export type StartMode = 'bundle' | 'tsx';

export interface RestartOptions {
  modes: StartMode[];
  /** start → /healthz runs per mode. */
  startRuns: number;
  /** SIGKILLs in the interview, per mode. */
  kills: number;
  /** How long the service stays down after each SIGKILL. */
  downMs: number;
  /** How long the interview records between two kills. */
  recordMs: number;
}

interface KillResult {
  /** From the new process's spawn to its first /healthz 200. */
  upMs: number;
  /** From that /healthz 200 to media flowing into a new segment again. */
  mediaBackMs: number;
  /** The `service restarted` gap stored on the interview. */
  gapMs: number;
  downMs: number;
}

export interface RestartResult {
  mode: StartMode;
  startToHealthyMs: { median: number; min: number; max: number; runs: number[] };
  kills: KillResult[];
  medians: { upMs: number; mediaBackMs: number; gapMs: number };
  /** The machine's 1-minute load average when the mode was measured (others share it). */
  loadAverage: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
};

/** The file a mode runs (relative to the repository, as ServiceProcess.start takes it). */
function entryOf(mode: StartMode): string {
  // The bundle by its absolute path: ServiceProcess would otherwise check it is up to date on each
  // start (a separate node process, ~0.1 s) inside the time measured. It is built once, below.
  return mode === 'tsx' ? 'server/main.ts' : path.join(repoRoot, 'dist', 'server', 'main.mjs');
}

/** What /healthz said last before its first 200 (why a start took long), per service URL. */
const lastRefusal = new Map<string, string>();

/** Polls /healthz every 10 ms from now; resolves with the time of the first 200. */
function firstHealthy(url: string, timeoutMs = 60_000): Promise<number> {
  lastRefusal.delete(url);
  return waitFor(
    async () => {
      const answer = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
      if (answer && answer.status !== 200) lastRefusal.set(url, `${answer.status} ${await answer.text()}`);
      return answer?.status === 200 ? performance.now() : undefined;
    },
    { timeoutMs, intervalMs: 10, what: '/healthz 200' },
  ).catch((error: unknown) => {
    // Why it never came up, when /healthz said.
    throw new Error(`${(error as Error).message}; its last answer: ${lastRefusal.get(url)?.slice(0, 600) ?? 'none (nothing listened)'}`);
  });
}

async function startToHealthy(mode: StartMode, runs: number): Promise<number[]> {
  const env = await serviceEnv({ ADMIN_TOKEN: 'bench-admin-token-0123456789' });
  const times: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const [command, ...args] = mode === 'tsx' ? ['--import', 'tsx', 'server/main.ts'] : [entryOf(mode)];
      const started = performance.now();
      const child = spawn(process.execPath, [command!, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
      let exit: number | null | undefined;
      const exited = new Promise((resolve) => child.once('exit', (code) => resolve((exit = code))));
      try {
        const healthy = await Promise.race([firstHealthy(env.PUBLIC_URL!), exited.then(() => undefined)]);
        if (healthy === undefined) throw new Error(`the service exited (${String(exit)}) before /healthz answered 200:\n${stderr}`);
        times.push(Math.round(healthy - started));
      } finally {
        if (exit === undefined) process.kill(-child.pid!, 'SIGKILL');
        await exited;
      }
    }
  } finally {
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
  }
  return times;
}

interface Gap {
  start: string;
  end: string | null;
  cause: string;
}

async function killAndRestart(mode: StartMode, options: RestartOptions, log: (line: string) => void): Promise<KillResult[]> {
  const env: ServiceEnv = await serviceEnv();
  let service = await ServiceProcess.start(env, 60_000, entryOf(mode));
  let browser: TestBrowser | undefined;
  const results: KillResult[] = [];
  try {
    const durationSeconds = Math.ceil((options.kills * (options.recordMs + options.downMs + 15_000) + 30_000) / 1000);
    const created = await service.api<{ id: string; candidateUrl: string }>('POST', '/api/interviews', { durationSeconds, candidateName: 'Bench' });
    if (created.status !== 201) throw new Error(`creating an interview answered ${created.status}`);
    const { id, candidateUrl } = created.body;
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(candidateUrl);
    const start = page.getByRole('button', { name: /Start|Share/ });
    await waitFor(() => start.isEnabled(), { timeoutMs: 15_000, what: 'the Start button' });
    await start.click();
    const flowingAfter = (after: number) =>
      waitFor(() => service.logged('recording media flowing').find((line) => line.time > after)?.time, { timeoutMs: 60_000, intervalMs: 20, what: 'media flowing into a new segment' });
    await flowingAfter(0);
    for (let kill = 0; kill < options.kills; kill++) {
      // The interview records meanwhile: this wait is the recording between two faults.
      await delay(options.recordMs);
      const killedAt = Date.now();
      await service.kill();
      // The outage itself: nothing runs while the service is down.
      await delay(options.downMs);
      const spawnedAt = performance.now();
      const healthy = firstHealthy(env.PUBLIC_URL!);
      service = await ServiceProcess.start(env, 60_000, entryOf(mode));
      const healthyAt = await healthy;
      const healthyWallClock = Date.now() - (performance.now() - healthyAt);
      const flowingAt = await flowingAfter(killedAt);
      const gap = await waitFor(
        async () => {
          const state = await service.api<{ gaps: Gap[] }>('GET', `/api/interviews/${id}`);
          return state.body.gaps.filter((entry) => entry.cause === 'service restarted' && entry.end !== null).at(kill);
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'the service restarted gap to close' },
      );
      const result: KillResult = {
        upMs: Math.round(healthyAt - spawnedAt),
        mediaBackMs: Math.round(flowingAt - healthyWallClock),
        gapMs: Date.parse(gap.end!) - Date.parse(gap.start),
        downMs: options.downMs,
      };
      results.push(result);
      if (process.env.BENCH_RESTART_LOG) {
        const spawnedWallClock = Date.now() - (performance.now() - spawnedAt);
        for (const line of service.logs.filter((entry) => entry.time <= flowingAt)) log(`    +${line.time - spawnedWallClock} ms ${line.msg}${line.startupMs ? ` ${JSON.stringify(line.startupMs)} cpu ${String(line.startupCpuMs)} ms` : ""}`);
      }
      const refusal = lastRefusal.get(env.PUBLIC_URL!);
      if (refusal) log(`  ${mode} SIGKILL ${kill + 1}: /healthz answered ${refusal.slice(0, 400)} before its first 200`);
      log(`  ${mode} SIGKILL ${kill + 1}: down ${result.downMs} ms, spawn → /healthz 200 ${result.upMs} ms, /healthz 200 → media back ${result.mediaBackMs} ms, gap ${result.gapMs} ms`);
    }
    await service.api('POST', `/api/interviews/${id}/end`, {});
  } finally {
    await browser?.close();
    await service.kill();
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
  }
  return results;
}

export async function runRestartBench(options: RestartOptions, log: (line: string) => void = console.log): Promise<RestartResult[]> {
  buildClient();
  // Loaded only for the bundle: a checkout from before it has no scripts/build-server.mjs.
  if (options.modes.includes('bundle')) await (await import('../scripts/build-server.mjs')).buildServer();
  const results: RestartResult[] = [];
  for (const mode of options.modes) {
    const runs = await startToHealthy(mode, options.startRuns);
    const loadAverage = Math.round(os.loadavg()[0]! * 100) / 100;
    log(`restart: ${mode} start → /healthz 200: median ${median(runs)} ms (${runs.join(', ')}; load ${loadAverage})`);
    const kills = options.kills > 0 ? await killAndRestart(mode, options, log) : [];
    results.push({
      mode,
      startToHealthyMs: { median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs },
      kills,
      medians: { upMs: median(kills.map((k) => k.upMs)), mediaBackMs: median(kills.map((k) => k.mediaBackMs)), gapMs: median(kills.map((k) => k.gapMs)) },
      loadAverage,
    });
  }
  return results;
}
