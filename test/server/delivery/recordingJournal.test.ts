// The recording's journal brings back what a lost disk held: the segments' bytes, and when each
// segment's media began (media-start.json), without which the node that restores them could not
// place the timeline's events in them (they were once restored without it).
import { S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSegmentMediaStart, segmentDir, segmentFile } from '../../../recorder-pipeline/segments.ts';
import { RecordingJournal } from '../../../server/delivery/RecordingJournal.ts';
import { EmbeddedS3Server } from '../../../server/storage/EmbeddedS3Server.ts';
import type { ObjectStore } from '../../../server/storage/ObjectStore.ts';
import { embeddedS3Client } from '../../support/embeddedS3Client.ts';
import { tempDir } from '../../support/testConfig.ts';

const INTERVIEW_ID = '5a1c7e2b-9d4f-4c8a-b6e3-0f2d8a7c9e14';
const logger = pino({ level: 'silent' });

describe('RecordingJournal', () => {
  let s3: EmbeddedS3Server;
  let client: S3Client;
  let objectStore: ObjectStore;
  beforeAll(async () => {
    s3 = await EmbeddedS3Server.start({ directory: tempDir(), bucket: 'interviews' });
    client = embeddedS3Client(s3.endpoint);
    objectStore = { client, bucket: 'interviews' } as unknown as ObjectStore;
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  it("restores on another disk every segment's bytes, and the media start of each segment whose media began", async () => {
    const lost = tempDir('journal-lost-');
    const files: Record<string, Buffer> = {};
    const journal = new RecordingJournal({ objectStore, interviewId: INTERVIEW_ID, directory: lost, intervalMs: 60_000, logger });
    for (const index of [0, 1]) {
      const dir = segmentDir(lost, index);
      fs.mkdirSync(dir, { recursive: true });
      for (const file of ['screen', 'candidate'] as const) {
        files[`${index}/${file}`] = randomBytes(20_000 + index * 1000);
        fs.writeFileSync(segmentFile(dir, file), files[`${index}/${file}`]!);
      }
      journal.segmentStarted(index, dir);
    }
    // Segment 0's media began; segment 1's never did (its ffmpeg started, nothing flowed).
    const mediaStartedAt = new Date('2026-12-07T10:00:03.250Z');
    journal.mediaStarted(0, mediaStartedAt);
    await journal.flush();

    const restoredDir = tempDir('journal-restored-');
    await new RecordingJournal({ objectStore, interviewId: INTERVIEW_ID, directory: restoredDir, intervalMs: 60_000, logger }).restore();
    for (const index of [0, 1]) {
      for (const file of ['screen', 'candidate'] as const) {
        expect(fs.readFileSync(segmentFile(segmentDir(restoredDir, index), file)).equals(files[`${index}/${file}`]!), `${index}/${file}`).toBe(true);
      }
    }
    expect(await readSegmentMediaStart(segmentDir(restoredDir, 0))).toEqual(mediaStartedAt);
    expect(await readSegmentMediaStart(segmentDir(restoredDir, 1))).toBeUndefined();
    for (const dir of [lost, restoredDir]) fs.rmSync(dir, { recursive: true, force: true });
  });
});
