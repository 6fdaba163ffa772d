import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { FaultyProxy } from '../support/faultyProxy.ts';
import { probeFile } from '../support/ffprobe.ts';
import { download, publishSynthetic, waitForStatus } from '../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir } from '../support/testConfig.ts';
import { asAdmin, startTestService, type TestService } from '../support/testService.ts';

/** A service whose object store sits behind a proxy that refuses requests on demand. */
async function serviceBehindFaultyStore(failFirst: number, retryWindowSeconds: number) {
  const s3 = await EmbeddedS3Server.start({ directory: tempDir(), bucket: 'interviews' });
  const proxy = await FaultyProxy.start(s3.endpoint, { failFirst: 0 });
  const t = await startTestService({
    S3_ENDPOINT: proxy.url,
    S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
    S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
    UPLOAD_RETRY_WINDOW_SECONDS: String(retryWindowSeconds),
  });
  // Refusals start after start-up, which checks the bucket through the proxy too.
  proxy.failFirst = proxy.refused + failFirst;
  return { t, proxy, s3 };
}

describe('uploading recordings when the object store misbehaves', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  async function recordTenSeconds(t: TestService, id: string): Promise<SyntheticPublisher> {
    const publisher = await publishSynthetic(t, id);
    cleanups.push(() => publisher.close());
    await waitForStatus(t, id, 'live', 20_000);
    return publisher;
  }

  it('retries after the store refuses the first attempts, then completes', async () => {
    const { t, proxy, s3 } = await serviceBehindFaultyStore(4, 120);
    cleanups.push(() => s3.close(), () => proxy.close(), () => t.close());
    const interview = await t.createInterview({ durationSeconds: 10 });
    await recordTenSeconds(t, interview.id);
    // The size of the local recording once ffmpeg has written its last byte (read when the
    // recording stops, before finalizing removes the files).
    const recording = (await t.service.sessions.get(interview.id)?.recording)!;
    const recorded = new Promise<number>((resolve) => recording.once('stopped', () => void recording.stats().then((stats) => resolve(stats.bytesWritten.screen))));
    const done = await waitForStatus(t, interview.id, 'completed', 90_000);
    const recordedBytes = await recorded;
    expect(proxy.refused).toBeGreaterThanOrEqual(4);
    const file = await download(done.screenVideo);
    // The whole recording was stored: the stored file is the local one remuxed (key frame flags,
    // Cues), measured 37 bytes larger in 3 runs (of ~2.9 MB), and it lasts the interview.
    const storedBytes = fs.statSync(file).size;
    console.log(`uploaded screen.webm ${storedBytes} bytes; local recording ${recordedBytes} bytes (${((storedBytes / recordedBytes) * 100).toFixed(1)} %)`);
    expect(recordedBytes).toBeGreaterThan(100_000);
    expect(storedBytes).toBeGreaterThanOrEqual(0.99 * recordedBytes);
    expect(storedBytes).toBeLessThanOrEqual(1.01 * recordedBytes);
    expect(Math.abs((await probeFile(file)).durationSeconds! - 10)).toBeLessThan(1.5);
  });

  it('marks the interview failed with the reason once the retry window passes, and retry-upload completes it', async () => {
    const { t, proxy, s3 } = await serviceBehindFaultyStore(Number.POSITIVE_INFINITY, 2);
    cleanups.push(() => s3.close(), () => proxy.close(), () => t.close());
    const interview = await t.createInterview({ durationSeconds: 10 });
    await recordTenSeconds(t, interview.id);
    const failed = await waitForStatus(t, interview.id, 'failed', 90_000);
    expect(failed.failureReason).toMatch(/reduce your request rate|SlowDown|503/i);
    expect(failed.screenVideo).toBe('');

    // Not failed → 409; the local files are still there to retry from.
    const other = await t.createInterview({ durationSeconds: 10 });
    expect((await t.api('POST', `/api/interviews/${other.id}/retry-upload`)).status).toBe(409);

    proxy.failFirst = proxy.refused;
    const retried = await t.api<{ status: string }>('POST', `/api/interviews/${interview.id}/retry-upload`);
    expect(retried).toEqual({ status: 202, body: { id: interview.id, externalId: null, status: 'finalizing' } });
    const done = await waitForStatus(t, interview.id, 'completed', 60_000);
    expect(done.failureReason).toBeNull();
    expect((await fetch(done.candidateVideo, { headers: asAdmin() })).status).toBe(200);
  });
});
