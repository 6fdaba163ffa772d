import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { putBody } from '../../recorder-pipeline/upload/putFile.ts';
import type { TimelineEvent } from '../../shared/timeline.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import { timelineObjectKey } from '../db/TimelineEntry.ts';
import { timelineToWebVtt } from './webVtt.ts';

/**
 * Uploads the events as timeline.vtt (small: one verified PutObject, retried like the recordings'
 * uploads for `retryWindowMs`); returns its key.
 */
export async function uploadTimelineVtt(objectStore: ObjectStore, interviewId: string, events: readonly TimelineEvent[], options: { retryWindowMs: number; onRetry?: (error: Error, attempt: number) => void }): Promise<string> {
  const key = timelineObjectKey(interviewId);
  const body = Buffer.from(timelineToWebVtt(events), 'utf8');
  await putBody({ client: objectStore.client, bucket: objectStore.bucket }, { body, key, contentType: 'text/vtt; charset=utf-8', ...options });
  return key;
}

export async function deleteTimelineVtt(objectStore: ObjectStore, interviewId: string): Promise<void> {
  await objectStore.client.send(new DeleteObjectCommand({ Bucket: objectStore.bucket, Key: timelineObjectKey(interviewId) }));
}
