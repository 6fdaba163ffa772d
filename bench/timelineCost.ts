// What the interview's timeline costs (issue 23), measured by `npm run bench` on the bench's service
// (`--skip-timeline` leaves it out; `--timeline-window-seconds S` (15), `--timeline-rate R` (5)).
//
// 1. Pipeline cores of one live synthetic interview (the service process + its mediasoup workers +
//    the recorder's ffmpeg + the live remux) in alternating windows without and with a steady stream
//    of candidate reports over signalling (R a second, within the page's allowance), twice each.
//    The reporting page is a process of its own (bench/reportClientProcess.ts): its socket.io
//    client's CPU is not the service's. The service runs in the bench's process, which does nothing
//    else meanwhile but sample /proc.
// 2. What the timeline adds to end → URLs: the work the delivery does for it between the files being
//    stored and the URLs (every entry's media time recomputed from the segments and written back,
//    timeline.vtt rendered and uploaded), for the log of a 1-minute and a 10-minute interview with a
//    report every 5 s, and for a log at the 2,000-entry cap; every entry's time changed, as after a
//    restart (the most writing there is). Three fresh interviews each; the median and the slowest.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { segmentDir, writeSegmentDuration, writeSegmentMediaStart } from '../recorder-pipeline/segments.ts';
import { trackNames } from '../recorder-pipeline/tracks.ts';
import { uploadTimelineVtt } from '../server/timeline/timelineFile.ts';
import { SyntheticPublisher } from '../test/support/syntheticPublisher.ts';
import type { BenchEnvironment, TimelineCostResult } from './benchTypes.ts';
import { CpuMeter, round } from './procStats.ts';

const PIPELINE = ['service', 'mediasoupWorkers', 'recorderFfmpeg', 'liveRemuxFfmpeg'] as const;
/** A realistic page: one report every 5 s (a few focus changes, a copy now and then). */
const REALISTIC_REPORTS_PER_MINUTE = 12;
const RUNS_PER_LOG = 3;

interface CreatedInterview {
  id: string;
  candidateUrl: string;
}

async function createInterview(env: BenchEnvironment): Promise<CreatedInterview> {
  const response = await fetch(`${env.service.localUrl}/api/interviews`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.service.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ durationSeconds: 3600, candidateName: 'bench timeline' }),
  });
  if (response.status !== 201) throw new Error(`creating an interview answered ${response.status}`);
  return (await response.json()) as CreatedInterview;
}

/** The candidate's reporting page, in a child process; `report(ms)` sends for that long. */
async function startReportingPage(env: BenchEnvironment, interview: CreatedInterview, rate: number) {
  const token = new URLSearchParams(new URL(interview.candidateUrl).hash.slice(1)).get('token')!;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'reportClientProcess.ts'), env.service.localUrl, token, interview.id, String(rate)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('the reporting page exited');
    return line.value;
  };
  if ((await next()) !== 'ready') throw new Error('the reporting page did not join');
  return {
    pid: child.pid,
    async report(ms: number): Promise<{ accepted: number; refused: number }> {
      child.stdin!.write(`report ${ms}\n`);
      return JSON.parse(await next()) as { accepted: number; refused: number };
    },
    close(): void {
      child.stdin!.end('quit\n');
    },
  };
}

async function measureCores(env: BenchEnvironment, windowSeconds: number, rate: number): Promise<Pick<TimelineCostResult, 'windows' | 'reportsPerSecondStored' | 'pipelineCores' | 'serviceCores' | 'serviceCpuMsPerReport'>> {
  const { service } = env;
  const interview = await createInterview(env);
  const session = service.sessions.open(interview.id);
  const room = await session.openRoom();
  const publisher = await SyntheticPublisher.start({ router: room.router, srtp: true });
  const page = await startReportingPage(env, interview, rate).catch(async (error: unknown) => {
    await publisher.close();
    throw error;
  });
  try {
    for (const track of trackNames) room.adoptProducer(track, publisher.producers[track]);
    const deadline = Date.now() + 30_000;
    while (!((await session.recording?.stats())?.bytesWritten.screen ?? 0) && Date.now() < deadline) await delay(250);
    await delay(3000);
    const windows: TimelineCostResult['windows'] = [];
    for (const events of [false, true, false, true]) {
      const meter = new CpuMeter(() => ({
        service: [process.pid],
        mediasoupWorkers: service.workers.workers.map((worker) => worker.pid),
        recorderFfmpeg: session.recording?.ffmpegPid ? [session.recording.ffmpegPid] : [],
        liveRemuxFfmpeg: session.progressive?.remuxPids() ?? [],
        reportingPage: page.pid ? [page.pid] : [],
      }));
      meter.start(500);
      const reports = events ? await page.report(windowSeconds * 1000) : (await delay(windowSeconds * 1000), { accepted: 0, refused: 0 });
      const usage = meter.stop();
      const cores = PIPELINE.reduce((sum, name) => sum + (usage.groups[name]?.cores ?? 0), 0);
      const window = {
        events,
        seconds: usage.seconds,
        pipelineCores: round(cores, 4),
        serviceCores: usage.groups.service!.cores,
        mediasoupCores: usage.groups.mediasoupWorkers!.cores,
        recorderCores: usage.groups.recorderFfmpeg!.cores,
        remuxCores: usage.groups.liveRemuxFfmpeg!.cores,
        reportingPageCores: usage.groups.reportingPage!.cores,
        machineBusyCores: usage.machineBusyCores,
        ...reports,
      };
      windows.push(window);
      console.log(
        `[timeline] window ${events ? `with ${reports.accepted} reports (${reports.refused} refused)` : 'without reports'}: pipeline ${window.pipelineCores} cores ` +
          `(service ${window.serviceCores}, mediasoup ${window.mediasoupCores}, recorder ${window.recorderCores}, remux ${window.remuxCores}); ` +
          `the reporting page's own process ${window.reportingPageCores}, not counted; machine ${window.machineBusyCores}`,
      );
    }
    const mean = (events: boolean, field: 'pipelineCores' | 'serviceCores') => windows.filter((w) => w.events === events).reduce((sum, w) => sum + w[field], 0) / 2;
    const accepted = windows.reduce((sum, w) => sum + w.accepted, 0);
    const withSeconds = windows.filter((w) => w.events).reduce((sum, w) => sum + w.seconds, 0);
    const pipeline = { without: round(mean(false, 'pipelineCores'), 4), with: round(mean(true, 'pipelineCores'), 4) };
    const serviceCores = { without: round(mean(false, 'serviceCores'), 4), with: round(mean(true, 'serviceCores'), 4) };
    return {
      windows,
      reportsPerSecondStored: round(accepted / withSeconds, 2),
      pipelineCores: { ...pipeline, addedPercent: round(((pipeline.with - pipeline.without) / pipeline.without) * 100, 1) },
      serviceCores,
      // The service's added CPU per stored report (noise of a shared machine included).
      serviceCpuMsPerReport: accepted > 0 ? round(((serviceCores.with - serviceCores.without) * withSeconds * 1000) / accepted, 2) : 0,
    };
  } finally {
    page.close();
    await session.end('admin').catch(() => undefined);
    await publisher.close();
    await session.idle();
  }
}

/** The delivery's timeline work for one log of `entries` entries over `minutes` of recording (two segments). */
async function timelineWorkAtEnd(env: BenchEnvironment, entries: number, minutes: number): Promise<{ ms: number; mediaTimesMs: number; vttMs: number }> {
  const { service } = env;
  const interview = await createInterview(env);
  const session = service.sessions.open(interview.id);
  const dir = service.sessions.recordingDirOf(interview.id);
  try {
    const seconds = minutes * 60;
    const start = Date.now() - seconds * 1000;
    for (const index of [0, 1]) {
      fs.mkdirSync(segmentDir(dir, index), { recursive: true });
      await writeSegmentMediaStart(segmentDir(dir, index), new Date(start + (index * seconds * 1000) / 2));
    }
    for (let i = 0; i < entries; i++) await session.timeline.record('media_path', { n: i }, new Date(start + (i * seconds * 1000) / entries));
    // The first segment measured 3 s shorter than its wall time: every later entry's media time moves.
    await writeSegmentDuration(segmentDir(dir, 0), seconds / 2 - 3);
    const began = performance.now();
    const events = await session.timeline.recomputeMediaTimes();
    const recomputed = performance.now();
    await uploadTimelineVtt(service.objectStore, interview.id, events, { retryWindowMs: service.config.s3.uploadRetryWindowMs });
    const ms = performance.now() - began;
    if (events.length !== entries) throw new Error(`the log read back ${events.length} of ${entries} entries`);
    return { ms: round(ms, 0), mediaTimesMs: round(recomputed - began, 0), vttMs: round(ms - (recomputed - began), 0) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The service's CPU per stored report, without media: `pages` interviews, each with a reporting page
 * at 10 a second (its allowance's rate) for `seconds`, against the same time with the pages idle.
 * The media's own CPU (0.04–0.05 cores in the windows above) is absent here, so the difference is
 * the reports' and not the noise.
 */
async function measurePerReport(env: BenchEnvironment, pages: number, seconds: number): Promise<TimelineCostResult['perReport']> {
  const interviews = await Promise.all(Array.from({ length: pages }, () => createInterview(env)));
  const reporting = [];
  try {
    for (const interview of interviews) reporting.push(await startReportingPage(env, interview, 10));
    await delay(1000);
    const idleFrom = process.cpuUsage();
    const idleStarted = performance.now();
    await delay(seconds * 1000);
    const idle = process.cpuUsage(idleFrom);
    const idleMs = performance.now() - idleStarted;
    const busyFrom = process.cpuUsage();
    const busyStarted = performance.now();
    const answers = await Promise.all(reporting.map((page) => page.report(seconds * 1000)));
    const busy = process.cpuUsage(busyFrom);
    const busyMs = performance.now() - busyStarted;
    const accepted = answers.reduce((sum, answer) => sum + answer.accepted, 0);
    const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;
    const addedMs = cpuMs(busy) - (cpuMs(idle) * busyMs) / idleMs;
    const result = {
      pages,
      seconds,
      accepted,
      refused: answers.reduce((sum, answer) => sum + answer.refused, 0),
      idleServiceCores: round(cpuMs(idle) / idleMs, 4),
      busyServiceCores: round(cpuMs(busy) / busyMs, 4),
      serviceCpuMsPerReport: accepted > 0 ? round(addedMs / accepted, 3) : 0,
    };
    console.log(
      `[timeline] per report, no media: ${pages} pages, ${accepted} reports stored (${result.refused} refused) in ${seconds} s; service ${result.idleServiceCores} cores idle, ` +
        `${result.busyServiceCores} while reporting: ${result.serviceCpuMsPerReport} ms of CPU per stored report`,
    );
    return result;
  } finally {
    for (const page of reporting) page.close();
    for (const interview of interviews) await env.service.sessions.open(interview.id).end('admin').catch(() => undefined);
  }
}

async function measureEndToUrls(env: BenchEnvironment): Promise<TimelineCostResult['endToUrls']> {
  const logs = [
    { label: '1 min, a report every 5 s', minutes: 1, entries: REALISTIC_REPORTS_PER_MINUTE },
    { label: '10 min, a report every 5 s', minutes: 10, entries: 10 * REALISTIC_REPORTS_PER_MINUTE },
    { label: 'the 2,000-entry cap (60 min)', minutes: 60, entries: 2000 },
  ];
  const results: TimelineCostResult['endToUrls'] = [];
  // Untimed: without it the slowest of the first log's runs once took 1.3 s against a median of
  // 0.19 s, probably a first call's cost rather than the log's.
  await timelineWorkAtEnd(env, REALISTIC_REPORTS_PER_MINUTE, 1);
  for (const log of logs) {
    const runs = [];
    for (let run = 0; run < RUNS_PER_LOG; run++) runs.push(await timelineWorkAtEnd(env, log.entries, log.minutes));
    runs.sort((a, b) => a.ms - b.ms);
    const median = runs[Math.floor(runs.length / 2)]!;
    const result = { label: log.label, entries: log.entries, addedMsP50: median.ms, addedMsMax: runs.at(-1)!.ms, mediaTimesMsP50: median.mediaTimesMs, vttMsP50: median.vttMs };
    results.push(result);
    console.log(`[timeline] end → URLs added for ${log.label} (${log.entries} entries): p50 ${result.addedMsP50} ms (media times ${result.mediaTimesMsP50} ms, timeline.vtt ${result.vttMsP50} ms), slowest of ${RUNS_PER_LOG} ${result.addedMsMax} ms`);
  }
  return results;
}

export async function measureTimelineCost(env: BenchEnvironment, options: { windowSeconds: number; rate: number }): Promise<TimelineCostResult> {
  const cores = await measureCores(env, options.windowSeconds, options.rate);
  console.log(
    `[timeline] pipeline cores per interview: ${cores.pipelineCores.without} without, ${cores.pipelineCores.with} with ${cores.reportsPerSecondStored} reports/s stored ` +
      `(${cores.pipelineCores.addedPercent >= 0 ? '+' : ''}${cores.pipelineCores.addedPercent} %); service ${cores.serviceCores.without} → ${cores.serviceCores.with}, ~${cores.serviceCpuMsPerReport} ms of CPU per report`,
  );
  const perReport = await measurePerReport(env, 8, 10);
  const endToUrls = await measureEndToUrls(env);
  return { windowSeconds: options.windowSeconds, reportsPerSecond: options.rate, ...cores, perReport, endToUrls };
}
