// timeline.vtt is stored as the recordings are: one verified PutObject, retried while the object
// store refuses (it once had a single attempt, so one 503 failed the whole delivery).
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../../shared/timeline.ts';
import { EmbeddedS3Server } from '../../../server/storage/EmbeddedS3Server.ts';
import type { ObjectStore } from '../../../server/storage/ObjectStore.ts';
import { uploadTimelineVtt } from '../../../server/timeline/timelineFile.ts';
import { timelineToWebVtt } from '../../../server/timeline/webVtt.ts';
import { embeddedS3Client } from '../../support/embeddedS3Client.ts';
import { FaultyProxy } from '../../support/faultyProxy.ts';
import { tempDir } from '../../support/testConfig.ts';

const INTERVIEW_ID = '0b6f3a52-8f0e-4c3e-9a51-2d7e4f6a9c10';
const events: TimelineEvent[] = [
  { seq: 1, kind: 'interview_live', source: 'server', at: '2026-12-07T10:00:00.000Z', browserAt: null, mediaSeconds: 0, details: {} },
  { seq: 2, kind: 'tab_hidden', source: 'candidate', at: '2026-12-07T10:00:12.500Z', browserAt: '2026-12-07T10:00:12.480Z', mediaSeconds: 12.5, details: {} },
];

describe('uploadTimelineVtt', () => {
  let s3: EmbeddedS3Server;
  let proxy: FaultyProxy;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await EmbeddedS3Server.start({ directory: tempDir(), bucket: 'interviews' });
    proxy = await FaultyProxy.start(s3.endpoint, { failFirst: 2 });
    client = embeddedS3Client(proxy.url);
  });
  afterAll(async () => {
    client?.destroy();
    await proxy?.close();
    await s3?.close();
  });

  it('retries while the store refuses, then stores the file byte for byte', async () => {
    const retries: number[] = [];
    const objectStore = { client, bucket: 'interviews' } as unknown as ObjectStore;
    const key = await uploadTimelineVtt(objectStore, INTERVIEW_ID, events, { retryWindowMs: 30_000, onRetry: (_error, attempt) => retries.push(attempt) });
    expect(key).toBe(`interviews/${INTERVIEW_ID}/timeline.vtt`);
    expect(proxy.refused).toBe(2);
    expect(retries).toEqual([1, 2]);
    const stored = await client.send(new GetObjectCommand({ Bucket: 'interviews', Key: key }));
    expect(stored.ContentType).toBe('text/vtt; charset=utf-8');
    expect(await stored.Body!.transformToString()).toBe(timelineToWebVtt(events));
  });
});
