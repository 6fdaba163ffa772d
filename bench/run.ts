// `npm run bench`: load generator and measurements for the recording pipeline (not part of npm test).
//
// 1. Ramp: N synthetic interviews at once (N = 1, 5, 10, 20, 30, 40, 50, then +10 up to --max),
//    each publishing pre-encoded VP9 screen (~2.5 Mbit/s) + VP9 camera (~1.5 Mbit/s) + Opus, looped
//    by an ffmpeg that stream-copies to SRTP (no encoding), into the real service (in this process:
//    SFU workers, relay, recorder ffmpegs, live remux, progressive upload, finalizer) and a separate
//    S3 server process. Per step: CPU and memory per group of processes, packet loss, ffprobe of
//    every stored file, end → URLs. Stops at ≥ 0.1% loss, a broken file or a saturated CPU.
//    Each step prints a line a second while it records, and is followed by the floors at the same N
//    (bench/floors.ts: the SFU alone, then SFU + bare ffmpeg), each measured as long as the step.
// 2. Burst end (--burst N): N interviews ended at the same instant, after the ramp: time until every
//    recording stopped, end → URLs, and the object store's share of it (every step reports the same).
// 3. Long recordings: end → URLs for 1, 10, 30 minute recordings, replayed into the progressive
//    uploader faster than real time (see bench/longRecording.ts); with the filmstrip (made after the
//    URLs: when it is stored, its ffmpegs' CPU seconds), then again with FILMSTRIP=false.
// 4. The timeline (bench/timelineCost.ts): pipeline cores of one interview without and with a steady
//    stream of candidate reports (from a child process), the service's CPU per stored report without
//    media (8 reporting pages), and what the timeline adds to end → URLs for a 1- and 10-minute log
//    and one at the 2,000-entry cap. About 2.5 minutes.
//
// 4. Restart (first, before the rest): start → /healthz 200 (median of --restart-runs) and SIGKILL →
//    media back with a real candidate page, for the bundle and for tsx (see bench/restart.ts).
//
// Flags: --max N (50) --steps 1,5,10 --step-seconds S (40) --long 1,10,30 --long-runs R (3)
//        --long-speed X (20) --skip-ramp --skip-long --no-floors --burst N --out DIR (bench/results)
//        --no-filmstrip-compare (the long recordings run once more with FILMSTRIP=false unless given)
//        --profile [N,M] (CPU profile of the service over the measuring window of those steps, or all)
//        --restart-modes bundle,tsx --restart-runs R (7) --restart-kills K (3) --restart-down MS (3000)
//        --skip-restart --only-restart
//        --admission (the service admits as deployed: ADMISSION_MAX_CPU_PERCENT 80; a step reports those refused)
//        --skip-timeline --timeline-window-seconds S (15) --timeline-rate R (5 reports a second)
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { destination, pino } from 'pino';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../config/loadConfig.ts';
import type { InterviewRecording } from '../recorder-pipeline/InterviewRecording.ts';
import { trackNames } from '../recorder-pipeline/tracks.ts';
import { Service } from '../server/Service.ts';
import { hasCues, probeFile } from '../test/support/ffprobe.ts';
import { ensureMediaFixtures } from '../test/support/mediaFixtures.ts';
import { SyntheticPublisher } from '../test/support/syntheticPublisher.ts';
import { tempDir } from '../test/support/testConfig.ts';
import type { BenchEnvironment, EndTimings, FloorKind, LongResult, Spread, StepResult, TimelineCostResult } from './benchTypes.ts';
import { CpuProfile } from './cpuProfile.ts';
import { measureFloor } from './floors.ts';
import { runLongRecordings } from './longRecording.ts';
import { ObjectStoreTimer } from './objectStoreTimer.ts';
import { busiestProcesses, CpuMeter, machineCpu, percentile, round, socketDrops, udpCounters } from './procStats.ts';
import { startProgressLine } from './progressLine.ts';
import { writeReport } from './report.ts';
import { runRestartBench, type RestartOptions, type RestartResult, type StartMode } from './restart.ts';
import { measureTimelineCost } from './timelineCost.ts';

const run = promisify(execFile);

interface Options {
  max: number;
  steps: number[];
  stepSeconds: number;
  long: number[];
  longRuns: number;
  longSpeed: number;
  skipRamp: boolean;
  skipLong: boolean;
  /** The long recordings again with FILMSTRIP=false, for end → URLs with and without it. */
  longWithoutFilmstrip: boolean;
  out: string;
  lossLimit: number;
  floors: boolean;
  burst: number | undefined;
  /** The service admits as in production (ADMISSION_MAX_CPU_PERCENT 80): a step's interviews past capacity are refused. */
  admission: boolean;
  /** Steps whose measuring window is profiled; empty: none, undefined: every step. */
  profile: number[] | undefined;
  restart: RestartOptions | undefined;
  onlyRestart: boolean;
  skipTimeline: boolean;
  /** The timeline's CPU windows (four of them) and its reporting rate. */
  timelineWindowSeconds: number;
  timelineRate: number;
}

function parseArgs(argv: string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const max = Number(value('max') ?? 50);
  const defaultSteps = [1, 5, 10, 20, 30, 40, 50];
  for (let n = 60; n <= max; n += 10) defaultSteps.push(n);
  const list = (text: string | undefined) => text?.split(',').map(Number).filter((n) => n > 0);
  return {
    max,
    steps: (list(value('steps')) ?? defaultSteps).filter((n) => n <= max),
    stepSeconds: Number(value('step-seconds') ?? 40),
    long: list(value('long')) ?? [1, 10, 30],
    longRuns: Number(value('long-runs') ?? 3),
    longSpeed: Number(value('long-speed') ?? 20),
    skipRamp: argv.includes('--skip-ramp'),
    skipLong: argv.includes('--skip-long'),
    longWithoutFilmstrip: !argv.includes('--no-filmstrip-compare'),
    out: value('out') ?? path.join(import.meta.dirname, 'results'),
    lossLimit: 0.001,
    floors: !argv.includes('--no-floors'),
    burst: value('burst') ? Number(value('burst')) : undefined,
    admission: argv.includes('--admission'),
    skipTimeline: argv.includes('--skip-timeline'),
    timelineWindowSeconds: Number(value('timeline-window-seconds') ?? 15),
    timelineRate: Number(value('timeline-rate') ?? 5),
    profile: !argv.includes('--profile') ? [] : (list(value('profile')?.startsWith('--') ? undefined : value('profile')) ?? undefined),
    restart: argv.includes('--skip-restart')
      ? undefined
      : {
          modes: (value('restart-modes') ?? 'bundle,tsx').split(',') as StartMode[],
          startRuns: Number(value('restart-runs') ?? 7),
          kills: Number(value('restart-kills') ?? 3),
          downMs: Number(value('restart-down') ?? 3000),
          recordMs: 5000,
        },
    onlyRestart: argv.includes('--only-restart'),
  };
}


export async function startS3(directory: string): Promise<{ process: ChildProcess; endpoint: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 's3rverProcess.ts'), directory], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  const endpoint = await new Promise<string>((resolve, reject) => {
    lines.once('line', (line) => resolve((JSON.parse(line) as { endpoint: string }).endpoint));
    child.once('exit', (code) => reject(new Error(`the S3 server exited with ${code}`)));
  });
  return { process: child, endpoint };
}

async function startEnvironment(logFile: string, options: Pick<Options, 'admission'>, filmstrip = true): Promise<BenchEnvironment> {
  const dataRoot = tempDir('interview-ingest-bench-');
  const s3 = await startS3(path.join(dataRoot, 'object-store'));
  const config = loadConfig(
    {
      // The port the system picks, bound by the service (PUBLIC_URL follows it).
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: path.join(dataRoot, 'data'),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ADMIN_TOKEN: 'bench-admin-token-0123456789',
      // The load generator drives and polls the admin API from one address far past an operator's rate.
      ADMIN_RATE_LIMIT_PER_MINUTE: '1000000',
      // The ramp measures how far the machine goes, past where admission would refuse, unless
      // --admission asks what admission makes of the same load.
      ADMISSION_MAX_CPU_PERCENT: options.admission ? '80' : (process.env.ADMISSION_MAX_CPU_PERCENT ?? '0'),
      RTC_LISTEN_IP: '127.0.0.1',
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_BUCKET: 'interviews',
      FILMSTRIP: String(filmstrip),
      ...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
    },
    os.tmpdir(),
  );
  // The service's log goes to a file next to the results (warnings explain any fallback).
  const service = await Service.create(config, { logger: pino({ level: config.logLevel }, destination({ dest: logFile, sync: false, mkdir: true })) });
  return { service, s3, dataRoot };
}

async function closeEnvironment(env: BenchEnvironment): Promise<void> {
  await env.service.close();
  env.s3.process.kill('SIGTERM');
  fs.rmSync(env.dataRoot, { recursive: true, force: true });
}

/**
 * Pipeline cores per interview measured by the ramp (docs/PERFORMANCE.md): 0.047 at one interview,
 * 0.026 at 40. The filmstrip's CPU is given as a share of an interview's pipeline CPU at both.
 */
const PIPELINE_CORES_PER_INTERVIEW = { atOne: 0.047, atForty: 0.026 } as const;

/** The issue's bar per length: filmstrip CPU as a share of the interview's pipeline CPU, and end → URLs with vs without. */
function filmstripCost(withFilmstrip: LongResult[], without: LongResult[]): Array<{ minutes: number; summary: string; [key: string]: unknown }> {
  return withFilmstrip.flatMap((result) => {
    const film = result.filmstripP50;
    if (!film) return [];
    const other = without.find((entry) => entry.minutes === result.minutes);
    // The ffmpeg's whole run (its start too, which its -benchmark leaves out) and the service's part.
    const cpu = Math.max(film.ffmpegCpuSeconds, film.wholeFfmpegCpuSeconds) + Math.max(0, film.serviceCpuSeconds);
    const share = (cores: number) => round((100 * cpu) / (cores * result.minutes * 60), 2);
    const entry = {
      minutes: result.minutes,
      endToUrlsP50WithMs: result.p50,
      endToUrlsP50WithoutMs: other?.p50 ?? null,
      addedToEndToUrlsMs: other ? result.p50 - other.p50 : null,
      filmstripAfterUrlsMsP50: film.afterUrlsMs,
      ffmpegCpuSecondsP50: film.ffmpegCpuSeconds,
      wholeFfmpegCpuSecondsP50: film.wholeFfmpegCpuSeconds,
      skipped: film.skipped,
      serviceCpuSecondsP50: film.serviceCpuSeconds,
      percentOfPipelineCpu: { atOneInterview: share(PIPELINE_CORES_PER_INTERVIEW.atOne), atForty: share(PIPELINE_CORES_PER_INTERVIEW.atForty) },
    };
    const summary =
      `${result.minutes} min: end → URLs p50 ${result.p50} ms with the filmstrip, ${other ? `${other.p50} ms without (${entry.addedToEndToUrlsMs! >= 0 ? '+' : ''}${entry.addedToEndToUrlsMs} ms)` : 'not measured without'}; ` +
      (film.skipped ? 'no filmstrip (under FILMSTRIP_MIN_SECONDS), decided ' : 'filmstrip stored ') +
      `${film.afterUrlsMs} ms after the URLs; CPU p50 ffmpeg ${film.wholeFfmpegCpuSeconds} s with its start (${film.ffmpegCpuSeconds} s by -benchmark) + service ${film.serviceCpuSeconds} s = ` +
      `${entry.percentOfPipelineCpu.atOneInterview} % of the interview's pipeline CPU at ${PIPELINE_CORES_PER_INTERVIEW.atOne} cores, ${entry.percentOfPipelineCpu.atForty} % at ${PIPELINE_CORES_PER_INTERVIEW.atForty}`;
    return [{ ...entry, summary }];
  });
}

export async function api<T>(service: Service, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${service.localUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${service.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${method} ${route} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Resolves with each interview's completion time, from the finalizer's events. */
function completions(service: Service): { wait: (ids: string[], timeoutMs: number) => Promise<Map<string, { at: number; ok: boolean }>>; stop: () => void } {
  const done = new Map<string, { at: number; ok: boolean }>();
  const onCompleted = (interview: { id: string }) => done.set(interview.id, { at: Date.now(), ok: true });
  const onFailed = (interview: { id: string }) => done.set(interview.id, { at: Date.now(), ok: false });
  service.sessions.on('completed', onCompleted);
  service.sessions.on('failed', onFailed);
  return {
    async wait(ids, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (ids.some((id) => !done.has(id)) && Date.now() < deadline) await delay(100);
      return done;
    },
    stop() {
      service.sessions.off('completed', onCompleted);
      service.sessions.off('failed', onFailed);
    },
  };
}

interface Timeline {
  /** Frames the stream's time span should hold at its frame duration. */
  expected: number;
  /** Frames missing from holes in the timeline (a lost RTP packet loses its whole frame). */
  missing: number;
  /** Where the first holes are (seconds into the stream, frames missing). */
  holes: Array<[number, number]>;
}

interface FileCheck {
  ok: boolean;
  problems: string[];
  durationSeconds: number | undefined;
  audio: Timeline;
  video: Timeline;
  sizeBytes: number;
}

/** Holes in one stream's packet timestamps: Opus frames are 20 ms, the fixtures' video 1/30 s. */
async function timeline(file: string, stream: 'a:0' | 'v:0', frameSeconds: number): Promise<Timeline> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { maxBuffer: 64 * 1024 * 1024 });
  const times = stdout.split('\n').map(Number).filter((time, index, all) => all[index] !== undefined && Number.isFinite(time)).sort((a, b) => a - b);
  let missing = 0;
  const holes: Array<[number, number]> = [];
  for (let index = 1; index < times.length; index++) {
    // The first second is the segment's start (audio waits for the first video key frame): not loss.
    if (times[index - 1]! - times[0]! < 1) continue;
    const lost = Math.max(0, Math.round((times[index]! - times[index - 1]!) / frameSeconds) - 1);
    missing += lost;
    if (lost > 0 && holes.length < 5) holes.push([round(times[index - 1]! - times[0]!, 3), lost]);
  }
  return { expected: times.length + missing, missing, holes };
}

/** Downloads a stored object and checks it: VP9 + Opus, Cues, the expected duration. */
export async function checkStored(service: Service, key: string, expectedSeconds: number): Promise<FileCheck> {
  const file = path.join(tempDir('bench-check-'), path.basename(key));
  const problems: string[] = [];
  try {
    const object = await service.objectStore.client.send(new GetObjectCommand({ Bucket: service.objectStore.bucket, Key: key }));
    fs.writeFileSync(file, Buffer.from(await object.Body!.transformToByteArray()));
    const probe = await probeFile(file);
    if (probe.video?.codecName !== 'vp9') problems.push(`video ${probe.video?.codecName ?? 'missing'}`);
    if (probe.audio?.codecName !== 'opus') problems.push(`audio ${probe.audio?.codecName ?? 'missing'}`);
    if (!(await hasCues(file))) problems.push('no Cues');
    if (probe.durationSeconds === undefined || Math.abs(probe.durationSeconds - expectedSeconds) > 3) problems.push(`duration ${probe.durationSeconds} s, expected ≈ ${expectedSeconds} s`);
    const [audio, video] = await Promise.all([timeline(file, 'a:0', 0.02), timeline(file, 'v:0', 1 / 30)]);
    return { ok: problems.length === 0, problems, durationSeconds: probe.durationSeconds, audio, video, sizeBytes: fs.statSync(file).size };
  } catch (error) {
    problems.push(String(error));
    return { ok: false, problems, durationSeconds: undefined, audio: { expected: 0, missing: 0, holes: [] }, video: { expected: 0, missing: 0, holes: [] }, sizeBytes: 0 };
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    await service.objectStore.client.send(new DeleteObjectCommand({ Bucket: service.objectStore.bucket, Key: key })).catch(() => undefined);
  }
}


async function producerTotals(publishers: SyntheticPublisher[]): Promise<{ packets: number; lost: number }> {
  let packets = 0;
  let lost = 0;
  for (const publisher of publishers) {
    for (const track of trackNames) {
      for (const stat of await publisher.producers[track].getStats()) {
        packets += stat.packetCount ?? 0;
        lost += stat.packetsLost ?? 0;
      }
    }
  }
  return { packets, lost };
}

async function runStep(env: BenchEnvironment, n: number, options: Options, label?: string): Promise<StepResult> {
  const publishers: SyntheticPublisher[] = [];
  // Interrupted or failed, a step must not leave looping publisher ffmpegs behind (close() kills at once).
  const onSignal = () => {
    for (const publisher of publishers) void publisher.close();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await measureStep(env, n, options, publishers, label);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(publishers.map((publisher) => publisher.close()));
  }
}

/** The machine's busy cores that none of the measured groups account for: others' work on a shared machine. */
function otherCores(usage: { machineBusyCores: number; groups: Record<string, { cores: number }> }): number {
  return round(usage.machineBusyCores - Object.values(usage.groups).reduce((sum, group) => sum + group.cores, 0), 3);
}

function spread(values: number[]): Spread {
  return { p50: percentile(values, 50), p95: percentile(values, 95), max: values.length === 0 ? Number.NaN : Math.max(...values) };
}

/** --admission: one interview arriving per this many ms. */
const ADMISSION_ARRIVAL_MS = 1000;

async function waitUntilAdmitting(service: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const admitting = async () => ((await (await fetch(`${service.localUrl}/healthz`)).json()) as { admission?: { ok: boolean } }).admission?.ok !== false;
  while (!(await admitting()) && Date.now() < deadline) await delay(1000);
}

async function measureStep(env: BenchEnvironment, asked: number, options: Options, publishers: SyntheticPublisher[], label = 'N'): Promise<StepResult> {
  const { service } = env;
  const log = (message: string) => console.log(`[${label}=${asked}] ${message}`);
  const ids: string[] = [];
  let refused = 0;
  // The previous step's end (remux tails, uploads, this bench's file checks) keeps the machine
  // busy for a while, and admission counts the measured load: start when it would admit again.
  if (options.admission) await waitUntilAdmitting(service, 120_000);
  for (let i = 0; i < asked; i++) {
    let id: string;
    try {
      id = (await api<{ id: string }>(service, 'POST', '/api/interviews', { durationSeconds: 3600, candidateName: `bench ${asked}/${i}` })).id;
    } catch (error) {
      if (!String(error).includes('at_capacity')) throw error;
      refused++;
      continue;
    }
    ids.push(id);
    const room = await service.sessions.open(id).openRoom();
    const publisher = await SyntheticPublisher.start({ router: room.router, srtp: true });
    for (const track of trackNames) room.adoptProducer(track, publisher.producers[track]);
    publishers.push(publisher);
    // Admission also counts the machine's measured load (a 5 s mean): arrivals spread over the
    // step give it the time to see each one, as candidates arriving one by one would. At 4 a
    // second the start-up of each (three ffmpegs, transports) alone passed the threshold at 11.
    if (options.admission) await delay(ADMISSION_ARRIVAL_MS);
  }
  if (options.admission) log(`admission: ${ids.length} admitted, ${refused} refused with 503 at_capacity`);
  const n = ids.length;
  const recordings = new Map<string, InterviewRecording>();
  const startDeadline = Date.now() + 60_000 + n * 1000;
  while (recordings.size < n && Date.now() < startDeadline) {
    for (const id of ids) {
      if (recordings.has(id)) continue;
      const recording = await service.sessions.get(id)?.recording;
      if (recording && (await recording.stats()).bytesWritten.screen > 0) recordings.set(id, recording);
    }
    await delay(250);
  }
  if (recordings.size < n) log(`only ${recordings.size} of ${n} recordings started`);
  const recordingStartedAt = Date.now();
  await delay(3000);

  const pipelinePids = () => [
    process.pid,
    ...service.workers.workers.map((worker) => worker.pid),
    ...[...recordings.values()].map((recording) => recording.ffmpegPid).filter((pid): pid is number => pid !== undefined),
  ];
  const meter = new CpuMeter(() => ({
    service: [process.pid],
    mediasoupWorkers: service.workers.workers.map((worker) => worker.pid),
    recorderFfmpeg: [...recordings.values()].map((recording) => recording.ffmpegPid).filter((pid): pid is number => pid !== undefined),
    liveRemuxFfmpeg: service.sessions.sessions.flatMap((session) => session.progressive?.remuxPids() ?? []),
    objectStore: env.s3.process.pid ? [env.s3.process.pid] : [],
    publisherFfmpeg: publishers.map((publisher) => publisher.pid).filter((pid): pid is number => pid !== undefined),
  }));
  const udpBefore = udpCounters();
  const pipelineDropsBefore = socketDrops(pipelinePids());
  const producersBefore = await producerTotals(publishers);
  const profiled = options.profile === undefined || options.profile.includes(n);
  const profiler = profiled ? await CpuProfile.start() : undefined;
  meter.start();
  log(`measuring for ${options.stepSeconds} s${profiler ? ' (CPU profile on)' : ''}`);
  const progressSources = {
    expected: n,
    recordings: () => [...recordings.values()],
    pipelinePids,
    cores: os.cpus().length,
    probeDatabase: () => service.database.em().getConnection().execute('select 1'),
    databaseWaiting: () => service.database.connections().waiting,
  };
  const stopProgress = startProgressLine(progressSources, log);
  await delay(options.stepSeconds * 1000);
  stopProgress();
  const usage = meter.stop();
  let profile: StepResult['profile'];
  if (profiler) {
    const file = path.join(options.out, `cpu-${label}${n}-${Date.now()}.cpuprofile`);
    profile = { file: path.basename(file), top: await profiler.stop(file) };
    log(`profile ${file}; top self time: ${profile.top.slice(0, 8).map((entry) => `${entry.functionName} ${entry.selfPercent}%`).join(', ')}`);
  }
  const udpAfter = udpCounters();
  const pipelineDrops = socketDrops(pipelinePids()) - pipelineDropsBefore;
  const producersAfter = await producerTotals(publishers);
  const producers = { packets: producersAfter.packets - producersBefore.packets, lost: producersAfter.lost - producersBefore.lost };

  // End every interview at once and time each end → URLs.
  const delivered: Array<{ remuxMs?: number | undefined; upload: { bytesAtEnd: number; partsMs: number; completeMs: number } }> = [];
  const lastDeliveredAt = new Map<string, number>();
  const onDelivered = (id: string, file: (typeof delivered)[number]) => {
    delivered.push(file);
    lastDeliveredAt.set(id, Date.now());
  };
  service.sessions.on('delivered', onDelivered);
  const completion = completions(service);
  const storeTimer = ObjectStoreTimer.attach(service.objectStore.client);
  const stoppedAt = new Map<string, number>();
  for (const [id, recording] of recordings) recording.once('stopped', () => stoppedAt.set(id, Date.now()));
  const endedAt = new Map<string, number>();
  const endErrors: string[] = [];
  const endRefused = new Set<string>();
  const endAnsweredAt = new Map<string, number>();
  // The line goes on through the end: where an end waits (CPU, event loop, database) shows there.
  const stopEndProgress = startProgressLine(progressSources, (line) => log(`ending: ${line}`));
  await Promise.all(
    ids.map(async (id) => {
      endedAt.set(id, Date.now());
      await api(service, 'POST', `/api/interviews/${id}/end`, {}).then(
        () => endAnsweredAt.set(id, Date.now()),
        (error: unknown) => {
          endErrors.push(String(error));
          endRefused.add(id);
        },
      );
    }),
  );
  if (endErrors.length > 0) log(`${endErrors.length} end requests failed: ${endErrors[0]}`);
  // An interview whose end request failed never completes: waiting for it would only add the timeout.
  const done = await completion.wait(ids.filter((id) => !endRefused.has(id)), 300_000);
  stopEndProgress();
  completion.stop();
  storeTimer.detach();
  service.sessions.off('delivered', onDelivered);
  await Promise.all(publishers.map((publisher) => publisher.close()));
  const completedIds = ids.filter((id) => done.get(id)?.ok);
  const latencies = completedIds.map((id) => done.get(id)!.at - endedAt.get(id)!);
  const storeMs = completedIds.map((id) => storeTimer.busyMs(id, endedAt.get(id)!, done.get(id)!.at));
  const firstEnd = Math.min(...endedAt.values());
  const end: EndTimings = {
    // Over the interviews whose end was accepted (the others were never asked to stop).
    allStoppedMs: (() => {
      const asked = [...recordings.keys()].filter((id) => !endRefused.has(id));
      return asked.length > 0 && asked.every((id) => stoppedAt.has(id)) ? Math.max(...asked.map((id) => stoppedAt.get(id)!)) - firstEnd : Number.NaN;
    })(),
    stopped: stoppedAt.size,
    endStoredMs: spread([...endAnsweredAt].map(([id, at]) => at - endedAt.get(id)!)),
    stopMs: spread([...stoppedAt].map(([id, at]) => at - endedAt.get(id)!)),
    objectStoreMs: spread(storeMs),
    oursMs: spread(completedIds.map((_, index) => latencies[index]! - storeMs[index]!)),
    stoppedToFilesMs: spread(completedIds.filter((id) => stoppedAt.has(id) && lastDeliveredAt.has(id)).map((id) => lastDeliveredAt.get(id)! - stoppedAt.get(id)!)),
    filesToUrlsMs: spread(completedIds.filter((id) => lastDeliveredAt.has(id)).map((id) => done.get(id)!.at - lastDeliveredAt.get(id)!)),
    remuxTailMs: spread(delivered.map((file) => file.remuxMs).filter((ms): ms is number => ms !== undefined)),
    partsMs: spread(delivered.map((file) => file.upload.partsMs)),
    completeMs: spread(delivered.map((file) => file.upload.completeMs)),
  };
  log(`end → URLs p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms; all ${recordings.size} recordings stopped ${end.allStoppedMs} ms after the end; object store p50 ${end.objectStoreMs.p50} ms p95 ${end.objectStoreMs.p95} ms, ours p50 ${end.oursMs.p50} ms p95 ${end.oursMs.p95} ms`);

  const checks: FileCheck[] = [];
  const completedLagMs: number[] = [];
  for (const id of ids) {
    // Each interview recorded from when it went live (its media first flowed) until its end,
    // completedAt: the product's promise. How late completedAt is after the bench sent the end
    // is this process's own HTTP handling on a busy machine, reported apart.
    const stored = await service.interviews.find(id);
    const startedAt = stored?.startedAt?.getTime() ?? recordingStartedAt;
    const completedAt = stored?.completedAt?.getTime() ?? endedAt.get(id)!;
    completedLagMs.push(completedAt - endedAt.get(id)!);
    const recordedSeconds = (completedAt - startedAt) / 1000;
    for (const kind of ['screen', 'candidate'] as const) checks.push(await checkStored(service, `interviews/${id}/${kind}.webm`, recordedSeconds));
  }
  end.completedAtLagMs = spread(completedLagMs);
  log(`completedAt after the end request was sent: p50 ${end.completedAtLagMs.p50} ms, max ${end.completedAtLagMs.max} ms`);
  // End to end (mediasoup → relay → recorder ffmpeg → file): holes in the files' timelines.
  const audioExpected = checks.reduce((total, check) => total + check.audio.expected, 0);
  const audioMissing = checks.reduce((total, check) => total + check.audio.missing, 0);
  const videoExpected = checks.reduce((total, check) => total + check.video.expected, 0);
  const videoMissing = checks.reduce((total, check) => total + check.video.missing, 0);
  const broken = checks.filter((check) => !check.ok);
  const udpDatagrams = udpAfter.inDatagrams - udpBefore.inDatagrams;
  const udpRcvbufErrors = udpAfter.rcvbufErrors - udpBefore.rcvbufErrors;
  const ingest = producers.lost / Math.max(1, producers.packets + producers.lost);
  // Drops at the pipeline's own sockets (SFU workers, relay, recorder ffmpegs), against all datagrams.
  const udpDrops = pipelineDrops / Math.max(1, udpDatagrams);
  const audioToFile = audioMissing / Math.max(1, audioExpected);
  const videoToFile = videoMissing / Math.max(1, videoExpected);
  const worst = Math.max(ingest, udpDrops, audioToFile, videoToFile);
  const cores = os.cpus().length;
  const g = usage.groups;
  const pipeline = ['service', 'mediasoupWorkers', 'recorderFfmpeg', 'liveRemuxFfmpeg'];
  const sum = (field: 'cores' | 'rssMB' | 'pssMB') => pipeline.reduce((total, name) => total + (g[name]?.[field] ?? 0), 0);
  const verdict: StepResult['verdict'] = broken.length > 0 ? 'broken' : worst >= options.lossLimit ? 'loss' : usage.machineBusyCores >= 0.95 * cores ? 'cpu' : 'ok';
  const bytesAtEnd = delivered.map((file) => file.upload.bytesAtEnd / 1048576);
  const result: StepResult = {
    interviews: n,
    ...(options.admission ? { refused } : {}),
    seconds: usage.seconds,
    machineBusyCores: usage.machineBusyCores,
    otherCores: otherCores(usage),
    cores,
    cpu: g,
    perInterview: {
      serviceCores: round((g.service?.cores ?? 0) / n, 4),
      mediasoupCores: round((g.mediasoupWorkers?.cores ?? 0) / n, 4),
      recorderCores: round((g.recorderFfmpeg?.cores ?? 0) / n, 4),
      remuxCores: round((g.liveRemuxFfmpeg?.cores ?? 0) / n, 4),
      totalPipelineCores: round(sum('cores') / n, 4),
      pipelineRssMB: round(sum('rssMB') / n, 1),
      pipelinePssMB: round(sum('pssMB') / n, 1),
    },
    loss: { ingest, udpDrops, audioToFile, videoToFile, worst, producerPackets: producers.packets, udpDatagrams, udpRcvbufErrors, pipelineSocketDrops: pipelineDrops, audioFramesMissing: audioMissing, videoFramesMissing: videoMissing },
    files: {
      checked: checks.length,
      broken: broken.length,
      problems: broken.flatMap((check) => check.problems).slice(0, 10),
      holes: checks.flatMap((check) => [...check.audio.holes.map((hole) => `audio at ${hole[0]} s: ${hole[1]}`), ...check.video.holes.map((hole) => `video at ${hole[0]} s: ${hole[1]}`)]).slice(0, 20),
    },
    endToUrlsMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies), failed: ids.length - latencies.length, endRequestsFailed: endRefused.size },
    progressive: { deliveredFiles: delivered.length, fallbackFiles: 2 * n - delivered.length, bytesAtEndMB: { p50: round(percentile(bytesAtEnd, 50), 2), max: round(Math.max(0, ...bytesAtEnd), 2) } },
    end,
    ...(profile ? { profile } : {}),
    verdict,
  };
  log(`machine ${result.machineBusyCores}/${cores} cores (others ${result.otherCores}), pipeline ${result.perInterview.totalPipelineCores} cores/interview, loss ${(worst * 100).toFixed(4)}%, broken ${broken.length}, verdict ${verdict}`);
  return result;
}

/** The floors at the step's N, each measured as long as the step, and our cost as a multiple of each. */
async function addFloors(env: BenchEnvironment, result: StepResult, options: Options): Promise<void> {
  const n = result.interviews;
  result.floors = {};
  result.ratioToFloor = {};
  for (const kind of ['sfu', 'ffmpeg'] as FloorKind[]) {
    console.log(`[N=${n}] floor '${kind}': measuring for ${options.stepSeconds} s`);
    // A floor that cannot run (the machine out of ports or memory) is reported, not fatal to the run.
    const floor = await measureFloor(env, kind, n, options.stepSeconds).catch((error: unknown) => {
      console.log(`[N=${n}] floor '${kind}' failed: ${String(error)}`);
      return undefined;
    });
    if (!floor) continue;
    result.floors[kind] = floor;
    result.ratioToFloor[kind] = round(result.perInterview.totalPipelineCores / Math.max(1e-6, floor.perInterview.floorCores), 2);
    floor.otherCores = otherCores({ machineBusyCores: floor.machineBusyCores, groups: floor.cpu });
    console.log(
      `[N=${n}] floor '${kind}': ${floor.perInterview.floorCores} cores/interview (workers ${floor.perInterview.mediasoupCores}, receiver ${floor.perInterview.receiverCores}), machine ${floor.machineBusyCores} cores (others ${floor.otherCores}); ours ${result.perInterview.totalPipelineCores} = ${result.ratioToFloor[kind]} × this floor; received ${JSON.stringify(floor.received)}`,
    );
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  fs.mkdirSync(options.out, { recursive: true });
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replaceAll(':', '-').slice(0, 19);
  // Services of their own, one at a time, before this process starts one.
  const restart: RestartResult[] = options.restart ? await runRestartBench(options.restart) : [];
  if (options.onlyRestart) {
    const file = path.join(options.out, `restart-${stamp}.json`);
    fs.writeFileSync(file, JSON.stringify({ startedAt: startedAt.toISOString(), machine: { cpus: os.cpus().length, node: process.version }, restart }, null, 2));
    console.log(`results: ${file}`);
    return;
  }
  await ensureMediaFixtures();
  let env = await startEnvironment(path.join(options.out, `service-${stamp}.log`), options);
  // What else the machine is doing (other test runs): busy cores over 5 s before any load.
  const idleStart = machineCpu();
  const backgroundProcesses = await busiestProcesses(5000);
  const idleEnd = machineCpu();
  const backgroundBusyCores = round((idleEnd.busy - idleStart.busy) / 100 / 5, 3);
  console.log(`background load before the bench: ${backgroundBusyCores} cores busy; busiest: ${backgroundProcesses.map((entry) => `${entry.cores} ${entry.command.slice(0, 60)}`).join(' | ')}`);
  const steps: StepResult[] = [];
  let burst: StepResult | undefined;
  let longResults: LongResult[] = [];
  let longWithoutFilmstrip: LongResult[] = [];
  let timelineCost: TimelineCostResult | undefined;
  const resultsFile = path.join(options.out, `bench-${stamp}.json`);
  const save = () => {
    const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGB: round(os.totalmem() / 2 ** 30, 1), kernel: os.release(), node: process.version, backgroundBusyCores, backgroundProcesses };
    const results = { startedAt: startedAt.toISOString(), options, machine, steps, ...(burst ? { burst } : {}), long: longResults, longWithoutFilmstrip, filmstripCost: filmstripCost(longResults, longWithoutFilmstrip), restart, ...(timelineCost ? { timelineCost } : {}) };
    fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2));
    fs.writeFileSync(path.join(options.out, 'latest.json'), JSON.stringify(results, null, 2));
    writeReport(results, path.join(options.out, 'latest.html'));
  };
  try {
    if (!options.skipRamp) {
      for (const n of options.steps) {
        const result = await runStep(env, n, options);
        steps.push(result);
        save();
        if (options.floors) await addFloors(env, result, options);
        save();
        if (result.verdict !== 'ok') break;
      }
    }
    if (options.burst) {
      burst = await runStep(env, options.burst, options, 'burst N');
      save();
      if (options.floors) await addFloors(env, burst, options);
      save();
    }
    if (!options.skipLong) {
      longResults = await runLongRecordings(env, { minutes: options.long, runs: options.longRuns, speed: options.longSpeed, onResult: save });
      save();
      if (options.longWithoutFilmstrip) {
        // The same recordings through a service without the filmstrip (FILMSTRIP=false).
        await closeEnvironment(env);
        env = await startEnvironment(path.join(options.out, `service-${stamp}-no-filmstrip.log`), options, false);
        longWithoutFilmstrip = await runLongRecordings(env, { minutes: options.long, runs: options.longRuns, speed: options.longSpeed, onResult: save });
        save();
      }
      for (const line of filmstripCost(longResults, longWithoutFilmstrip)) console.log(`[filmstrip] ${line.summary}`);
    }
    if (!options.skipTimeline) {
      timelineCost = await measureTimelineCost(env, { windowSeconds: options.timelineWindowSeconds, rate: options.timelineRate });
      save();
    }
  } finally {
    save();
    await closeEnvironment(env);
  }
  console.log(`results: ${resultsFile} and ${path.join(options.out, 'latest.html')}`);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/run.ts')) {
  await main();
  process.exit(0);
}
