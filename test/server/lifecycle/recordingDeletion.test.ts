import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interview } from '../../../server/db/Interview.ts';
import { InterviewStatus } from '../../../server/db/InterviewStatus.ts';
import { RecordingDeletion } from '../../../server/lifecycle/RecordingDeletion.ts';
import { startTestService, type TestService } from '../../support/testService.ts';

const DAY_MS = 86_400_000;

describe('deleting recordings also deletes what the journal kept of them', () => {
  let ts: TestService;
  let deletion: RecordingDeletion;

  beforeAll(async () => {
    ts = await startTestService();
    deletion = new RecordingDeletion({
      database: ts.service.database,
      objectStore: ts.service.objectStore,
      recordingsDir: path.join(ts.dataDir, 'recordings'),
      retentionDays: 7,
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await deletion?.close();
    await ts?.close();
  });

  /** An interview that failed `daysAgo` days ago, its journal still in the bucket (kept for a retry). */
  async function failedWithJournal(daysAgo: number): Promise<string> {
    const { id } = await ts.createInterview();
    const em = ts.service.database.em();
    const row = await em.findOneOrFail(Interview, { id });
    Object.assign(row, { status: InterviewStatus.Failed, completedAt: new Date(Date.now() - daysAgo * DAY_MS), failureReason: 'the object store refused' });
    await em.flush();
    const { client, bucket } = ts.service.objectStore;
    for (const file of ['screen', 'candidate']) {
      for (const offset of ['000000000000', '000000065536']) {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: `journal/${id}/segment-000/${file}/${offset}`, Body: Buffer.alloc(16) }));
      }
    }
    return id;
  }

  async function journalOf(id: string): Promise<string[]> {
    const { client, bucket } = ts.service.objectStore;
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `journal/${id}/` }));
    return (page.Contents ?? []).map((object) => object.Key!);
  }

  it('removes a failed interview’s journal when retention deletes its recordings, and keeps a younger one’s', async () => {
    const old = await failedWithJournal(8);
    const young = await failedWithJournal(6);
    expect(await journalOf(old)).toHaveLength(4);
    await deletion.sweep();
    expect((await ts.api<{ recordingsDeletedAt: string | null }>('GET', `/api/interviews/${old}`)).body.recordingsDeletedAt).not.toBeNull();
    expect(await journalOf(old)).toEqual([]);
    expect(await journalOf(young)).toHaveLength(4);
  });

  it('removes the journal when the recordings are deleted on request', async () => {
    const id = await failedWithJournal(1);
    expect((await ts.api('DELETE', `/api/interviews/${id}/recordings`)).status).toBe(200);
    expect(await journalOf(id)).toEqual([]);
  });
});
