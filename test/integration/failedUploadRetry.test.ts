// A `failed` interview whose object store comes back is completed by the service itself: no
// restart, no retry-upload, no operator. The store is a real S3 server (s3rver) that the test stops
// and starts again on the same port; the retry schedule is shortened (FAILED_UPLOAD_RETRY_SECONDS)
// so the test does not wait the default minutes.
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { probeFile } from '../support/ffprobe.ts';
import { download, publishSynthetic, waitForStatus } from '../support/recordedInterview.ts';
import { parsePrometheusText, valueOf } from '../support/prometheusText.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { capturingLogger, startTestService } from '../support/testService.ts';
import { WebhookReceiver, webhookSecret, completedWebhookData } from '../support/webhookReceiver.ts';

const INTERVIEW_SECONDS = 10;
/** How many automatic retries must fail while the store is down before it comes back. */
const FAILED_RETRIES = 2;

describe('a failed interview and its object store coming back', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('is completed by the service on its own, with both URLs and one interview.failed then interview.completed', async () => {
    const s3Dir = tempDir('retry-s3-');
    // Port 0; started again later on the port it got.
    let s3 = await EmbeddedS3Server.start({ directory: s3Dir, bucket: 'interviews' });
    const s3Port = Number(new URL(s3.endpoint).port);
    cleanups.push(() => s3.close());
    const secret = webhookSecret();
    const receiver = await WebhookReceiver.start(secret);
    cleanups.push(() => receiver.close());
    const { logger, lines } = capturingLogger('info');
    const t = await startTestService(
      {
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
        S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
        UPLOAD_RETRY_WINDOW_SECONDS: '1',
        FAILED_UPLOAD_RETRY_SECONDS: '1,2',
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: secret,
      },
      { logger },
    );
    cleanups.push(() => t.close());
    // README's metrics: upload_retries_total counts transient retries, upload_failures_total the
    // interviews marked failed — once, however many automatic retries fail again.
    const counters = async () => {
      const response = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminToken}` } });
      const families = parsePrometheusText(await response.text());
      return { retries: valueOf(families, 'interview_ingest_upload_retries_total'), failures: valueOf(families, 'interview_ingest_upload_failures_total') };
    };
    const before = await counters();
    const interview = await t.createInterview({ durationSeconds: INTERVIEW_SECONDS });
    const publisher = await publishSynthetic(t, interview.id);
    cleanups.push(() => publisher.close());
    await waitForStatus(t, interview.id, 'live', 20_000);

    // The store goes down while the interview runs, and stays down past its end.
    await s3.close();
    const failed = await waitForStatus(t, interview.id, 'failed', 45_000);
    expect(failed.failureReason).toMatch(/ECONNREFUSED|connect|socket|network/i);
    expect(failed.screenVideo).toBe('');
    // The view says when the service tries again: the first wait (1 s) after the failure.
    expect(failed.nextRetryAt).not.toBeNull();
    expect(Date.parse(failed.nextRetryAt!) - Date.now()).toBeLessThan(2000);

    // It tries again by itself, with backoff, and fails again while the store is down.
    const retried = () => lines.filter((line) => line.msg === 'retrying the delivery of a failed interview' && line.interviewId === interview.id);
    await waitFor(async () => retried().length >= FAILED_RETRIES && (await t.service.interviews.get(interview.id)).failedDeliveries > FAILED_RETRIES, {
      timeoutMs: 45_000,
      intervalMs: 100,
      what: `${FAILED_RETRIES} automatic retries failing while the store is down`,
    });
    const stillFailed = await t.service.interviews.get(interview.id);
    expect(stillFailed.status).toBe('failed');
    // After the second failure in a row the wait is the schedule's second, 2 s, and stays so.
    expect(stillFailed.nextRetryAt).not.toBeNull();
    const attempts = retried().map((line) => line.failedDeliveries);
    expect(attempts.slice(0, FAILED_RETRIES)).toEqual([1, 2]);
    const whileDown = await counters();
    expect(whileDown.failures - before.failures).toBe(1);
    // Each delivery attempt retried within UPLOAD_RETRY_WINDOW_SECONDS before giving up.
    expect(whileDown.retries - before.retries).toBeGreaterThanOrEqual(stillFailed.failedDeliveries);

    // The store comes back: nothing else is done, and the interview completes.
    s3 = await EmbeddedS3Server.start({ directory: s3Dir, bucket: 'interviews', port: s3Port });
    const backAt = Date.now();
    const done = await waitForStatus(t, interview.id, 'completed', 30_000);
    const tookMs = Date.now() - backAt;
    console.log(`store back → completed in ${tookMs} ms, after ${stillFailed.failedDeliveries} failed deliveries (automatic retries logged: ${retried().length})`);
    // At most the longest wait (2 s) and one look (1 s) before the retry starts, then the upload of ~3 MB.
    expect(tookMs).toBeLessThan(15_000);
    expect((await counters()).failures - before.failures).toBe(1);
    expect(done.failureReason).toBeNull();
    expect(done.nextRetryAt).toBeNull();
    expect(done.screenVideo).toMatch(/screen\.webm$/);
    expect(done.candidateVideo).toMatch(/candidate\.webm$/);
    for (const url of [done.screenVideo, done.candidateVideo]) {
      const media = await probeFile(await download(url));
      expect(Math.abs(media.durationSeconds! - INTERVIEW_SECONDS)).toBeLessThan(1.5);
    }

    // Webhooks: the failure once (with when the first retry was due), not once per failed retry; then the completion.
    const completed = await waitFor(() => receiver.ofType('interview.completed')[0], { timeoutMs: 15_000, what: 'interview.completed' });
    expect(completed.body!.data).toEqual(completedWebhookData(done));
    const failures = receiver.ofType('interview.failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.body!.data).toEqual({ interviewId: interview.id, externalId: null, metadata: null, reason: failed.failureReason, nextRetryAt: failed.nextRetryAt });
    expect(receiver.received.map((webhook) => webhook.body?.type).filter((type) => type !== 'interview.gap')).toEqual(['interview.live', 'interview.failed', 'interview.completed']);
    // Each wait is bounded on its own; together they may take longer than the suite's 60 s per test.
  }, 180_000);
});
