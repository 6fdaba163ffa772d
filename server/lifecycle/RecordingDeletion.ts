import { AbortMultipartUploadCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { deleteTimelineVtt } from '../timeline/timelineFile.ts';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import { deleteJournal } from '../delivery/RecordingJournal.ts';
import { RecordingArtifact } from '../db/RecordingArtifact.ts';
import { RECORDING_FILE_KINDS, RecordingFile, recordingObjectKey } from '../db/RecordingFile.ts';
import { AppError } from '../errors.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import { InterviewStatus } from '../db/InterviewStatus.ts';

const HOUR_MS = 3600_000;

export interface RecordingDeletionOptions {
  database: Database;
  objectStore: ObjectStore;
  recordingsDir: string;
  /** RETENTION_DAYS; undefined: recordings are kept until someone deletes them. */
  retentionDays: number | undefined;
  logger: Logger;
  checkIntervalMs?: number;
}

/**
 * Deleting an interview's recordings — on request (a candidate asks) or by retention — from the
 * object store and from the local disk. Idempotent: deleting again finds nothing and changes
 * nothing; the interview keeps `recordingsDeletedAt` and loses its URLs.
 */
export class RecordingDeletion {
  readonly #options: RecordingDeletionOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(options: RecordingDeletionOptions) {
    this.#options = options;
  }

  async deleteRecordings(interviewId: string, reason: 'request' | 'retention'): Promise<Interview> {
    const { database, objectStore, logger } = this.#options;
    const em = database.em();
    const interview = await em.findOne(Interview, { id: interviewId });
    if (!interview) throw new AppError('not_found', `no interview with id ${interviewId}`);
    // While it records or uploads, the files are still being made: end it, then delete.
    if (interview.status === InterviewStatus.Live || interview.status === InterviewStatus.Finalizing) {
      throw new AppError('conflict', `the interview is ${interview.status}; its recordings can be deleted once it has ended and been saved`);
    }
    const rows = await em.find(RecordingFile, { interviewId });
    for (const row of rows) {
      // A progressive upload that never completed holds parts in the bucket: abort it (best effort; some S3 servers lack Abort).
      if (row.multipartUploadId) {
        await objectStore.client
          .send(new AbortMultipartUploadCommand({ Bucket: objectStore.bucket, Key: row.objectKey, UploadId: row.multipartUploadId }))
          .catch(() => undefined);
      }
    }
    for (const kind of RECORDING_FILE_KINDS) {
      try {
        await objectStore.client.send(new DeleteObjectCommand({ Bucket: objectStore.bucket, Key: recordingObjectKey(interviewId, kind) }));
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status !== 404) throw new AppError('unavailable', `the object store did not delete the ${kind} recording; try again`);
      }
    }
    // timeline.vtt beside them (the events themselves stay in the database: they are not media).
    try {
      await deleteTimelineVtt(objectStore, interviewId);
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw new AppError('unavailable', 'the object store did not delete timeline.vtt; try again');
    }
    // Files stored beside the recordings (the filmstrip), whatever their status: a pending one may
    // be half-uploaded by now.
    const artifacts = await em.find(RecordingArtifact, { interviewId });
    for (const artifact of artifacts) {
      try {
        await objectStore.client.send(new DeleteObjectCommand({ Bucket: objectStore.bucket, Key: artifact.objectKey }));
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status !== 404) throw new AppError('unavailable', `the object store did not delete the ${artifact.name}; try again`);
      }
    }
    // The journal (RECORDING_JOURNAL_SECONDS) holds the recording too: a failed interview keeps it for a retry until now.
    try {
      await deleteJournal(objectStore, interviewId);
    } catch {
      throw new AppError('unavailable', "the object store did not delete the recording's journal; try again");
    }
    await fs.rm(path.join(this.#options.recordingsDir, interviewId), { recursive: true, force: true });
    for (const row of rows) em.remove(row);
    for (const artifact of artifacts) em.remove(artifact);
    const first = interview.recordingsDeletedAt === null;
    interview.recordingsDeletedAt ??= new Date();
    interview.screenVideo = '';
    interview.candidateVideo = '';
    interview.timelineVtt = '';
    await em.flush();
    if (first) logger.info({ interviewId, reason }, 'recordings deleted');
    return interview;
  }

  /** RETENTION_DAYS: deletes what is older now and then every hour. No-op without retention. */
  start(): void {
    if (this.#options.retentionDays === undefined || this.#timer) return;
    this.#timer = setInterval(() => void this.sweep(), this.#options.checkIntervalMs ?? HOUR_MS);
    this.#timer.unref();
    void this.sweep();
  }

  /** Deletes the recordings of every ended interview that ended more than RETENTION_DAYS ago. */
  sweep(now = new Date()): Promise<void> {
    const days = this.#options.retentionDays;
    if (days === undefined) return Promise.resolve();
    this.#sweeping ??= (async () => {
      const cutoff = new Date(now.getTime() - days * 24 * HOUR_MS);
      const due = await this.#options.database.em().find(Interview, {
        status: { $in: [InterviewStatus.Completed, InterviewStatus.Failed] },
        recordingsDeletedAt: null,
        completedAt: { $lt: cutoff },
      });
      for (const interview of due) {
        await this.deleteRecordings(interview.id, 'retention').catch((error: unknown) =>
          this.#options.logger.error({ err: error, interviewId: interview.id }, 'retention could not delete recordings; retrying at the next check'),
        );
      }
      if (due.length > 0) this.#options.logger.info({ deleted: due.length, retentionDays: days }, 'retention: recordings deleted');
    })().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}
