// Multipart uploads a dead node left behind are aborted once older than STALE_UPLOAD_HOURS, unless
// a delivery owns them. Against moto's S3 server: s3rver (the embedded store) has no
// ListMultipartUploads (501) nor AbortMultipartUpload (405). moto 5.2 answers every upload's
// Initiated as 2010-11-10T20:48:33Z (a constant in its response template), so the sweep is asked to
// look at a `now` measured from that instant: just under the bound, then just past it.
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../../server/cluster/clusterKeys.ts';
import { closeRedisClient, openRedisClient } from '../../../server/cluster/redisClient.ts';
import { Interview } from '../../../server/db/Interview.ts';
import { InterviewStatus } from '../../../server/db/InterviewStatus.ts';
import { RecordingFile, recordingObjectKey } from '../../../server/db/RecordingFile.ts';
import { intervalClaim } from '../../../server/cluster/intervalClaim.ts';
import { StaleUploadSweep } from '../../../server/lifecycle/StaleUploadSweep.ts';
import { startMoto, type MotoServer } from '../../support/moto.ts';
import { startRedis } from '../../support/redis.ts';
import { waitFor } from '../../support/testConfig.ts';
import { startTestService, type TestService } from '../../support/testService.ts';

const HOUR_MS = 3600_000;
const STALE_HOURS = 24;

describe('unfinished multipart uploads nobody owns are aborted after STALE_UPLOAD_HOURS (the service sweeps at start and hourly)', () => {
  let moto: MotoServer;
  let ts: TestService;
  /** Left in the bucket before the service started (by moto's clock, in 2010: long past the bound). */
  let leftBeforeStart: string;

  beforeAll(async () => {
    moto = await startMoto();
    await moto.createBucket('interviews');
    const client = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'moto-key', secretAccessKey: 'moto-secret' }, forcePathStyle: true });
    try {
      leftBeforeStart = (await client.send(new CreateMultipartUploadCommand({ Bucket: 'interviews', Key: recordingObjectKey('00000000-0000-4000-8000-000000000001', 'screen') }))).UploadId!;
    } finally {
      client.destroy();
    }
    ts = await startTestService({ ...moto.env('interviews'), STALE_UPLOAD_HOURS: String(STALE_HOURS) });
    // The service's own sweep at start (then hourly) aborts it; the tests below begin once it has.
    await waitFor(async () => !(await unfinished()).includes(leftBeforeStart), { what: "the service's sweep at start to abort the upload left before it" });
  });

  afterAll(async () => {
    await ts?.close();
    await moto?.stop();
  });

  /** The Initiated time moto reports for every multipart upload. */
  const MOTO_INITIATED = Date.parse('2010-11-10T20:48:33.000Z');

  const sweepAt = (hoursAfterInitiated: number, claim?: () => Promise<boolean>) =>
    new StaleUploadSweep({
      database: ts.service.database,
      objectStore: ts.service.objectStore,
      staleAfterMs: ts.service.config.staleUploadMs,
      logger: pino({ level: 'silent' }),
      ...(claim ? { claim } : {}),
    }).sweep(new Date(MOTO_INITIATED + hoursAfterInitiated * HOUR_MS));

  async function begin(key: string): Promise<string> {
    const { client, bucket } = ts.service.objectStore;
    return (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId!;
  }

  async function unfinished(): Promise<string[]> {
    const { client, bucket } = ts.service.objectStore;
    return ((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((upload) => upload.UploadId!);
  }

  /** An interview in `status`, created through the API. */
  async function interviewIn(status: string): Promise<string> {
    const { id } = await ts.createInterview();
    const em = ts.service.database.em();
    const row = await em.findOneOrFail(Interview, { id });
    Object.assign(row, { status, completedAt: status === InterviewStatus.Live ? null : new Date() });
    await em.flush();
    return id;
  }

  it('aborts an orphan older than the bound, and keeps younger ones, owned ones and other prefixes', async () => {
    // Left by a dead node's whole-file upload: its id was never stored anywhere.
    const orphan = await begin(recordingObjectKey(await interviewIn(InterviewStatus.Completed), 'screen'));
    // A progressive upload whose id is stored on its recording file: a retry resumes it.
    const failedId = await interviewIn(InterviewStatus.Failed);
    const resumable = await begin(recordingObjectKey(failedId, 'screen'));
    const em = ts.service.database.em();
    const file = new RecordingFile(failedId, 'screen');
    file.multipartUploadId = resumable;
    em.persist(file);
    await em.flush();
    // An interview still live (or being saved) may be uploading through a process that keeps its id.
    const live = await begin(recordingObjectKey(await interviewIn(InterviewStatus.Live), 'candidate'));
    // Not this service's: another prefix in the same bucket.
    const foreign = await begin('backups/db.tar');
    const { client, bucket } = ts.service.objectStore;
    const listed = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
    expect(new Set(listed.map((upload) => upload.Initiated?.getTime()))).toEqual(new Set([MOTO_INITIATED]));
    expect(await unfinished()).toEqual(expect.arrayContaining([orphan, resumable, live, foreign]));

    // Just under the bound: nothing is old enough.
    expect((await sweepAt(STALE_HOURS - 0.1)).aborted).toEqual([]);
    expect(await unfinished()).toEqual(expect.arrayContaining([orphan, resumable, live, foreign]));

    // Past the bound: the orphan only.
    const result = await sweepAt(STALE_HOURS + 0.1);
    expect(result.aborted.map((upload) => upload.uploadId)).toEqual([orphan]);
    expect(result.kept).toBe(2);
    const left = await unfinished();
    expect(left).not.toContain(orphan);
    expect(left).toEqual(expect.arrayContaining([resumable, live, foreign]));
  });

  it('in a cluster, one node sweeps per interval: the others find the claim taken', async () => {
    const redisServer = await startRedis();
    const redis = await openRedisClient({ url: redisServer.url, name: 'sweep-test', offlineQueue: false, logger: pino({ level: 'silent' }) });
    try {
      const orphan = await begin(recordingObjectKey(await interviewIn(InterviewStatus.Completed), 'candidate'));
      const claimOf = (node: string) => intervalClaim(redis, clusterKeys.staleUploadSweep, node, HOUR_MS);
      const [first, second] = await Promise.all([sweepAt(STALE_HOURS + 1, claimOf('node-a')), sweepAt(STALE_HOURS + 1, claimOf('node-b'))]);
      // Exactly one of them looked (and aborted the orphan); the other did nothing.
      expect([first.aborted.length, second.aborted.length].sort()).toEqual([0, 1]);
      expect(await unfinished()).not.toContain(orphan);
      expect(await redis.pTTL(clusterKeys.staleUploadSweep)).toBeGreaterThan(HOUR_MS - 60_000);
    } finally {
      await closeRedisClient(redis);
      await redisServer.stop();
    }
  });
});
