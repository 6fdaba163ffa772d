import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { TimelineEvent } from '../../shared/timeline.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import { timelineObjectKey } from '../db/TimelineEntry.ts';
import { timelineToWebVtt } from './webVtt.ts';

/** Uploads the events as timeline.vtt (small: one PutObject, a Buffer body with its length); returns its key. */
export async function uploadTimelineVtt(objectStore: ObjectStore, interviewId: string, events: readonly TimelineEvent[]): Promise<string> {
  const key = timelineObjectKey(interviewId);
  const body = Buffer.from(timelineToWebVtt(events), 'utf8');
  await objectStore.client.send(new PutObjectCommand({ Bucket: objectStore.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: 'text/vtt; charset=utf-8' }));
  return key;
}

export async function deleteTimelineVtt(objectStore: ObjectStore, interviewId: string): Promise<void> {
  await objectStore.client.send(new DeleteObjectCommand({ Bucket: objectStore.bucket, Key: timelineObjectKey(interviewId) }));
}
