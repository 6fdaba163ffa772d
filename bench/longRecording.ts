// End → URLs for long recordings without waiting 30 minutes per run: a pre-built recording of the
// wanted length (the cached VP9/Opus fixtures looped with `-c copy` into one WebM per file, as the
// recording ffmpeg writes them: clusters of ≤ 1 s) is written into `segment-000/` at `speed` × its
// real-time byte rate while the service's progressive uploader follows it, exactly as it follows a
// live recording (the same ProgressiveDelivery calls, LiveRemux tail and multipart upload). When the
// last byte is written, the interview is ended through its session's end() (what the timer and the
// admin API call) and the time to `completed` (URLs stored) is measured.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { segmentDir, segmentFile } from '../recorder-pipeline/segments.ts';
import { RECORDING_FILE_KINDS, RecordingFile } from '../server/db/RecordingFile.ts';
import type { DeliveredFile } from '../server/delivery/ProgressiveDelivery.ts';
import type { ArtifactOutcome } from '../server/delivery/RecordingArtifacts.ts';
import { RecordingArtifact } from '../server/db/RecordingArtifact.ts';
import { cacheRoot } from '../scripts/mediasoup-worker.mjs';
import { ensureMediaFixtures } from '../test/support/mediaFixtures.ts';
import { percentile, reapedChildrenCpuSeconds, round } from './procStats.ts';
import type { BenchEnvironment, FilmstripRun, LongResult, LongRun } from './benchTypes.ts';

const run = promisify(execFile);



/** One recording-like WebM per file of `seconds`, cached (≈ 0.3 MB/s screen, 0.2 MB/s camera). */
async function buildSources(seconds: number): Promise<Record<'screen' | 'candidate', string>> {
  const fixtures = await ensureMediaFixtures();
  const dir = path.join(cacheRoot(), 'bench', 'long-recordings');
  fs.mkdirSync(dir, { recursive: true });
  const result = {} as Record<'screen' | 'candidate', string>;
  for (const [kind, video] of [['screen', fixtures.screen], ['candidate', fixtures.camera]] as const) {
    const file = path.join(dir, `${kind}-${seconds}s.webm`);
    if (!fs.existsSync(file)) {
      const staging = `${file}.tmp-${process.pid}`;
      await run('ffmpeg', [
        '-v', 'error', '-stream_loop', '-1', '-i', video, '-stream_loop', '-1', '-i', fixtures.audio,
        '-map', '0:v', '-map', '1:a', '-c', 'copy', '-t', String(seconds), '-f', 'webm', '-cluster_time_limit', '1000', '-y', staging,
      ]);
      fs.renameSync(staging, file);
    }
    result[kind] = file;
  }
  return result;
}

/** Copies `source` to `target` at `bytesPerSecond`, in 100 ms steps, as a recorder would append it. */
async function writeProgressively(source: string, target: string, bytesPerSecond: number): Promise<void> {
  const input = fs.openSync(source, 'r');
  const output = fs.openSync(target, 'w');
  try {
    const size = fs.fstatSync(input).size;
    const chunk = Math.max(4096, Math.round(bytesPerSecond / 10));
    const buffer = Buffer.alloc(chunk);
    const startedAt = Date.now();
    for (let offset = 0; offset < size; ) {
      const bytesRead = fs.readSync(input, buffer, 0, Math.min(chunk, size - offset), offset);
      fs.writeSync(output, buffer, 0, bytesRead);
      offset += bytesRead;
      const due = startedAt + (offset / bytesPerSecond) * 1000;
      if (due > Date.now()) await delay(due - Date.now());
    }
  } finally {
    fs.closeSync(input);
    fs.closeSync(output);
  }
}

async function runOnce(env: BenchEnvironment, sources: Record<'screen' | 'candidate', string>, seconds: number, speed: number): Promise<LongRun> {
  const { service } = env;
  const { interview } = await service.interviews.create({ durationSeconds: 14_400, candidateName: 'bench long recording' });
  const id = interview.id;
  await service.interviews.markLive(id);
  const em = service.database.em();
  for (const kind of RECORDING_FILE_KINDS) em.persist(new RecordingFile(id, kind));
  await em.flush();
  const session = service.sessions.open(id);
  const segment = segmentDir(service.sessions.recordingDirOf(id), 0);
  // What the session does for a live recording: follow it before its first segment, then start on
  // the recording's segmentStarted.
  session.progressive?.followFirstSegment();
  fs.mkdirSync(segment, { recursive: true });
  session.progressive?.segmentStarted(0, segment);

  const writeStarted = Date.now();
  await Promise.all(
    (['screen', 'candidate'] as const).map((kind) => {
      const size = fs.statSync(sources[kind]).size;
      return writeProgressively(sources[kind], segmentFile(segment, kind), (size / seconds) * speed);
    }),
  );
  const writeSeconds = (Date.now() - writeStarted) / 1000;

  const delivered: DeliveredFile[] = [];
  const onDelivered = (interviewId: string, file: DeliveredFile) => {
    if (interviewId === id) delivered.push(file);
  };
  service.sessions.on('delivered', onDelivered);
  let completedAt: number | undefined;
  let failed: string | undefined;
  const onCompleted = (done: { id: string }) => {
    if (done.id === id) completedAt = Date.now();
  };
  const onFailed = (done: { id: string; failureReason: string | null }) => {
    if (done.id === id) failed = done.failureReason ?? 'failed';
  };
  service.sessions.on('completed', onCompleted);
  service.sessions.on('failed', onFailed);
  // The filmstrip is made after the URLs are stored: when it is done, and what the service spent meanwhile.
  let artifactsAt: number | undefined;
  let artifactOutcomes: ArtifactOutcome[] = [];
  let serviceCpuAtUrls: NodeJS.CpuUsage | undefined;
  let serviceCpu: NodeJS.CpuUsage | undefined;
  let childrenCpuAtUrls: number | undefined;
  let childrenCpu: number | undefined;
  const onArtifacts = (interviewId: string, outcomes: ArtifactOutcome[]) => {
    if (interviewId !== id) return;
    serviceCpu = serviceCpuAtUrls && process.cpuUsage(serviceCpuAtUrls);
    childrenCpu = childrenCpuAtUrls === undefined ? undefined : reapedChildrenCpuSeconds() - childrenCpuAtUrls;
    artifactsAt = Date.now();
    artifactOutcomes = outcomes;
  };
  const onCompletedCpu = (done: { id: string }) => {
    if (done.id !== id) return;
    serviceCpuAtUrls = process.cpuUsage();
    childrenCpuAtUrls = reapedChildrenCpuSeconds();
  };
  service.sessions.on('completed', onCompletedCpu);
  service.sessions.on('artifacts', onArtifacts);
  const endedAt = Date.now();
  await session.end('admin');
  const deadline = Date.now() + 600_000;
  while (completedAt === undefined && failed === undefined && Date.now() < deadline) await delay(20);
  service.sessions.off('completed', onCompleted);
  service.sessions.off('failed', onFailed);
  service.sessions.off('delivered', onDelivered);
  if (completedAt === undefined) throw new Error(`long recording ${id} did not complete: ${failed ?? 'timeout'}`);
  // The next run starts only once this one's filmstrip (if any) is made and its local files are gone.
  await service.sessions.idle();
  service.sessions.off('completed', onCompletedCpu);
  service.sessions.off('artifacts', onArtifacts);
  let filmstrip: FilmstripRun | undefined;
  if (service.config.filmstrip) {
    const outcome = artifactOutcomes.find((entry) => entry.name === 'filmstrip');
    const row = await service.database.em().fork().findOne(RecordingArtifact, { interviewId: id, name: 'filmstrip' });
    const details = (row?.details ?? {}) as { ffmpegCpuSeconds?: number; count?: number; intervalSeconds?: number };
    filmstrip = {
      status: outcome?.status ?? row?.status ?? 'missing',
      ...(outcome?.error ? { error: outcome.error } : {}),
      afterUrlsMs: artifactsAt === undefined ? -1 : artifactsAt - completedAt,
      endToFilmstripMs: artifactsAt === undefined ? -1 : artifactsAt - endedAt,
      ffmpegCpuSeconds: round(details.ffmpegCpuSeconds ?? 0, 3),
      serviceCpuSeconds: serviceCpu ? round((serviceCpu.user + serviceCpu.system) / 1e6, 3) : -1,
      wholeFfmpegCpuSeconds: childrenCpu === undefined ? -1 : round(childrenCpu, 2),
      count: details.count ?? 0,
      intervalSeconds: details.intervalSeconds ?? 0,
      sizeKB: round((row?.sizeBytes ?? 0) / 1024, 1),
    };
  }

  for (const key of [...RECORDING_FILE_KINDS.map((kind) => `${kind}.webm`), 'filmstrip.jpg']) {
    await service.objectStore.client.send(new DeleteObjectCommand({ Bucket: service.objectStore.bucket, Key: `interviews/${id}/${key}` })).catch(() => undefined);
  }
  return {
    endToUrlsMs: completedAt - endedAt,
    sizeMB: Object.fromEntries(delivered.map((file) => [file.kind, round(file.sizeBytes / 1048576, 1)])),
    files: delivered.map((file) => ({
      kind: file.kind,
      bytesAtEndMB: round(file.upload.bytesAtEnd / 1048576, 2),
      partsAtEnd: file.upload.partsAtEnd,
      parts: file.upload.parts,
      remuxMs: file.remuxMs,
      partsMs: file.upload.partsMs,
      completeMs: file.upload.completeMs,
    })),
    writeSeconds: round(writeSeconds, 1),
    ...(filmstrip ? { filmstrip } : {}),
  };
}

export async function runLongRecordings(
  env: BenchEnvironment,
  options: { minutes: number[]; runs: number; speed: number; onResult?: () => void },
): Promise<LongResult[]> {
  const results: LongResult[] = [];
  for (const minutes of options.minutes) {
    const seconds = minutes * 60;
    const sources = await buildSources(seconds);
    const result: LongResult = { minutes, speed: options.speed, runs: [], p50: 0, p95: 0, max: 0, completeMsMax: 0, filmstrip: env.service.config.filmstrip };
    results.push(result);
    for (let index = 0; index < options.runs; index++) {
      const runResult = await runOnce(env, sources, seconds, options.speed);
      result.runs.push(runResult);
      const latencies = result.runs.map((entry) => entry.endToUrlsMs);
      Object.assign(result, {
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        max: Math.max(...latencies),
        completeMsMax: Math.max(...result.runs.flatMap((entry) => entry.files.map((file) => file.completeMs))),
      });
      // Stored, or skipped (a recording under FILMSTRIP_MIN_SECONDS: what deciding that cost).
      const filmstrips = result.runs.flatMap((entry) => (entry.filmstrip?.status === 'stored' || entry.filmstrip?.status === 'skipped' ? [entry.filmstrip] : []));
      if (filmstrips.length > 0) {
        const median = (values: number[]) => round(percentile(values, 50), 3);
        result.filmstripP50 = {
          afterUrlsMs: median(filmstrips.map((entry) => entry.afterUrlsMs)),
          endToFilmstripMs: median(filmstrips.map((entry) => entry.endToFilmstripMs)),
          ffmpegCpuSeconds: median(filmstrips.map((entry) => entry.ffmpegCpuSeconds)),
          serviceCpuSeconds: median(filmstrips.map((entry) => entry.serviceCpuSeconds)),
          wholeFfmpegCpuSeconds: median(filmstrips.map((entry) => Math.max(entry.wholeFfmpegCpuSeconds, entry.ffmpegCpuSeconds))),
          skipped: filmstrips.every((entry) => entry.status === 'skipped'),
        };
      }
      const film = runResult.filmstrip ? `; filmstrip ${runResult.filmstrip.status} ${runResult.filmstrip.afterUrlsMs} ms after the URLs (${runResult.filmstrip.count} tiles every ${runResult.filmstrip.intervalSeconds} s, ${runResult.filmstrip.sizeKB} KB), ffmpeg ${runResult.filmstrip.ffmpegCpuSeconds} CPU s by its -benchmark, ${runResult.filmstrip.wholeFfmpegCpuSeconds} s with its start, service ${runResult.filmstrip.serviceCpuSeconds} CPU s` : '; no filmstrip (FILMSTRIP=false)';
      console.log(`[long ${minutes} min, run ${index + 1}] end → URLs ${runResult.endToUrlsMs} ms${film}; ${JSON.stringify(runResult.files)}`);
      options.onResult?.();
    }
  }
  return results;
}
