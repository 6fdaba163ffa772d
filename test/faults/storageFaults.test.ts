// Faults of the storage around a live interview, with a real service process, a real candidate
// (Chromium) and an S3 server (s3rver) that the test stops and starts again:
// - disk nearly full (MIN_FREE_DISK_MB above the real free space — nothing is filled): new
//   interviews get 507, /healthz says why, the logs say why, the running interview records on;
// - object store unreachable when the interview ends: retried for UPLOAD_RETRY_WINDOW_SECONDS,
//   then `failed` with the reason and the local files kept; once the store is back, the next
//   start of the service finalizes and uploads it by itself.
// The restart in between cuts its outage out of the final files (segments are concatenated).
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { buildClient, type TestBrowser } from '../support/browser.ts';
import {
  downloadTo,
  interviewState,
  logServiceOnFailure,
  recordedMedia,
  segmentDirs,
  startLiveInterview,
  waitForInterview,
  waitForMediaFlowing,
} from '../support/faults.ts';
import { type LogLine, ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

const INTERVIEW_SECONDS = 20;
/** Recording time before the restart (the sleep is this recording time). */
const RECORD_MS = 4000;
/** 100 TB: more than any test machine has free, so the disk counts as nearly full. */
const HUGE_MIN_FREE_DISK_MB = '100000000';

describe('when the disk is nearly full and the object store is down at the end of an interview', () => {
  let env: ServiceEnv;
  let service: ServiceProcess;
  let browser: TestBrowser;
  let s3: EmbeddedS3Server;
  let s3Port: number;
  const s3Dir = tempDir('fault-s3-');
  const downloads = tempDir('fault-downloads-');
  let interview: { id: string; candidateUrl: string };
  let outage = { at: 0, resumedAt: 0 };

  beforeAll(async () => {
    buildClient();
    // Port 0; restarted later on the port it got.
    s3 = await EmbeddedS3Server.start({ directory: s3Dir, bucket: 'interviews' });
    s3Port = Number(new URL(s3.endpoint).port);
    env = await serviceEnv({
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
      S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
      UPLOAD_RETRY_WINDOW_SECONDS: '2',
    });
    ({ service, browser, interview } = await startLiveInterview(env, INTERVIEW_SECONDS));
  });

  logServiceOnFailure(() => service);

  afterAll(async () => {
    await browser?.close();
    await service?.kill();
    await s3?.close();
    for (const dir of [env.DATA_DIR, s3Dir, downloads]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('disk nearly full: new interviews get 507, /healthz and the log say why, and the running interview keeps recording', async () => {
    await sleep(RECORD_MS);
    const stopAt = Date.now();
    expect((await service.terminate()).code).toBe(0);
    service = await ServiceProcess.start({ ...env, MIN_FREE_DISK_MB: HUGE_MIN_FREE_DISK_MB });

    const refused = await service.api<{ error: string; message: string }>('POST', '/api/interviews', { durationSeconds: 60 });
    console.log(`POST /api/interviews with the disk nearly full: ${refused.status} ${JSON.stringify(refused.body)}`);
    expect(refused.status).toBe(507);
    expect(refused.body.error).toBe('insufficient_storage');
    expect(refused.body.message).toMatch(/MIN_FREE_DISK_MB/);

    const health = await service.api<{ status: string; disk: { ok: boolean; freeBytes: number; minFreeBytes: number; path: string } }>('GET', '/healthz');
    expect(health.status).toBe(503);
    expect(health.body.disk).toMatchObject({ ok: false, path: env.DATA_DIR });
    expect(health.body.disk.freeBytes).toBeLessThan(health.body.disk.minFreeBytes);
    expect(service.logged('MIN_FREE_DISK_MB').some((line) => line.level === 40)).toBe(true);

    // The running interview goes on: the candidate came back and media flows into a new segment.
    const flowing = await waitForMediaFlowing(service, stopAt);
    outage = { at: stopAt, resumedAt: flowing.time };
    expect((await interviewState(service, interview.id)).status).toBe('live');
  });

  it('store unreachable at the end: retried for the window, then failed with the reason, local files kept', async () => {
    await s3.close();
    const failed = await waitForInterview(service, interview.id, (state) => state.status === 'failed', 'the upload to fail', 60_000);
    console.log(`failed: ${failed.failureReason}`);
    expect(failed.failureReason).toMatch(/ECONNREFUSED|connect|socket|network/i);
    expect(failed.screenVideo).toBe('');
    // Retried with backoff (0.25, 0.5, 1 s, …) through the 2 s window before giving up, for each file.
    const retries = service.logged('upload attempt failed; retrying');
    const byFile: Record<string, LogLine[]> = {};
    for (const line of retries) (byFile[String(line.key)] ??= []).push(line);
    console.log(`retries: ${JSON.stringify(Object.entries(byFile).map(([key, lines]) => ({ key, attempts: lines.map((line) => line.attempt), spanMs: lines.at(-1)!.time - lines[0]!.time })))}`);
    expect(Object.keys(byFile)).toHaveLength(2);
    for (const lines of Object.values(byFile)) {
      expect(lines.length).toBeGreaterThanOrEqual(3);
      expect(lines.at(-1)!.time - lines[0]!.time).toBeGreaterThanOrEqual(1000);
    }
    expect(segmentDirs(env.DATA_DIR, interview.id).length).toBeGreaterThanOrEqual(2);
  });

  it('after a restart with the store back, the failed interview completes by itself', async () => {
    expect((await service.terminate()).code).toBe(0);
    s3 = await EmbeddedS3Server.start({ directory: s3Dir, bucket: 'interviews', port: s3Port });
    service = await ServiceProcess.start(env);
    const done = await waitForInterview(service, interview.id, (state) => state.status === 'completed', 'the interview to complete after the restart', 60_000);
    expect(done.failureReason).toBeNull();
    expect(done.gaps.map((gap) => gap.cause)).toEqual(['service restarted']);

    const lengthMs = Date.parse(done.completedAt!) - Date.parse(done.startedAt!);
    const expected = (lengthMs - (outage.resumedAt - outage.at)) / 1000;
    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      const media = await recordedMedia(file);
      console.log(`${kind}.webm: ${media.durationSeconds} s; expected ${expected.toFixed(2)} s (restart outage ${outage.resumedAt - outage.at} ms cut out)`);
      expect(Math.abs(media.durationSeconds! - expected)).toBeLessThan(2);
      expect(Math.abs(media.video.last - media.audio.last)).toBeLessThan(0.5);
    }
    // Verified uploads: the local files go once the filmstrip is made from them (just after the URLs).
    await waitFor(() => !fs.existsSync(path.join(env.DATA_DIR, 'recordings', interview.id)), { timeoutMs: 30_000, what: 'the local recording removed' });
  });
});
