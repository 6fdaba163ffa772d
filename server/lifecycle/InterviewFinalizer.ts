import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { NoRecordedMediaError } from '../../recorder-pipeline/finalize/finalizeRecording.ts';
import { uploadFile } from '../../recorder-pipeline/upload/uploadFile.ts';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import { RECORDING_FILE_KINDS, RecordingFile, RecordingFileStatus, type RecordingFileKind } from '../db/RecordingFile.ts';
import { endToUrls, recordedBytes, uploadFailures, uploadParts, uploadRetries } from '../metrics/counters.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import { InterviewStatus } from './InterviewStatus.ts';
import { ProgressiveUploads } from './ProgressiveUploads.ts';

/** Turns a recording directory into the two final, seekable files (recorder-pipeline/finalize). */
export type FinalizeRecording = (directory: string) => Promise<Record<RecordingFileKind, string>>;

export interface FileProgress {
  kind: RecordingFileKind;
  status: RecordingFileStatus;
  sizeBytes: number;
  uploadedBytes: number;
}

export type InterviewFinalizerEvents = {
  progress: [interviewId: string, files: FileProgress[]];
  completed: [interview: Interview];
  failed: [interview: Interview];
};

export interface InterviewFinalizerOptions {
  database: Database;
  objectStore: ObjectStore;
  recordingsDir: string;
  partSizeBytes: number;
  retryWindowMs: number;
  publicUrl: string;
  finalizeRecording: FinalizeRecording;
  /** The service's logger; the finalizer and its progressive uploads each add their component. */
  logger: Logger;
  /** Upload while recording (default true); false: everything is uploaded after the end. */
  progressiveUpload?: boolean;
  webhooks?: WebhookOutbox | undefined;
}

/** Progress writes to the database at most this often per file; the live value is in memory. */
const PROGRESS_PERSIST_INTERVAL_MS = 1000;

/**
 * After an interview ends: finalize its files from disk, upload both, verify them, store their
 * URLs and mark it completed (or failed, with the reason). Works from the database and the disk
 * alone, so it can resume after a restart.
 */
export class InterviewFinalizer extends EventEmitter<InterviewFinalizerEvents> {
  readonly #options: InterviewFinalizerOptions;
  readonly #logger: Logger;
  readonly #running = new Map<string, Promise<void>>();
  readonly #progress = new Map<string, FileProgress[]>();
  /**
   * Uploads recordings while they are recorded; `follow(interviewId)` when the interview's room
   * opens. Ending such an interview only uploads the header and the tail of each file.
   */
  readonly progressive: ProgressiveUploads | undefined;

  constructor(options: InterviewFinalizerOptions) {
    super();
    this.#options = options;
    // Each part names itself once (a child of a child with the same key would repeat it).
    this.#logger = options.logger.child({ component: 'finalizer' });
    if (options.progressiveUpload !== false) {
      this.progressive = new ProgressiveUploads({
        database: options.database,
        objectStore: options.objectStore,
        recordingsDir: options.recordingsDir,
        partSizeBytes: options.partSizeBytes,
        retryWindowMs: options.retryWindowMs,
        logger: options.logger.child({ component: 'progressive-upload' }),
      });
    }
  }

  /** Starts uploading an interview's recording while it is recorded (no-op when disabled). */
  follow(interviewId: string): void {
    this.progressive?.follow(interviewId);
  }

  /** Stops the progressive followers (shutdown); finalizations in progress are not awaited. */
  async close(): Promise<void> {
    await this.progressive?.close();
  }

  recordingDir(interviewId: string): string {
    return path.join(this.#options.recordingsDir, interviewId);
  }

  /** Upload progress as last stored (for an interview not being finalized now). */
  async storedProgress(interviewId: string): Promise<FileProgress[]> {
    const rows = await this.#options.database.em().find(RecordingFile, { interviewId }, { orderBy: { kind: 'asc' } });
    return rows.map((row) => ({ kind: row.kind, status: row.status, sizeBytes: row.sizeBytes, uploadedBytes: row.uploadedBytes }));
  }

  /** Live upload progress of an interview being finalized; undefined when none is running. */
  progress(interviewId: string): FileProgress[] | undefined {
    return this.#progress.get(interviewId);
  }

  /** Finalizes the interview; concurrent calls for the same interview share one run. */
  finalize(interviewId: string): Promise<void> {
    const existing = this.#running.get(interviewId);
    if (existing) return existing;
    const run = this.#finalize(interviewId).finally(() => {
      this.#running.delete(interviewId);
      this.#progress.delete(interviewId);
    });
    this.#running.set(interviewId, run);
    return run;
  }

  /** Waits for every finalization in progress (graceful shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  async #finalize(interviewId: string): Promise<void> {
    const { database } = this.#options;
    const log = this.#logger.child({ interviewId });
    const em = database.em();
    const interview = await em.findOneOrFail(Interview, { id: interviewId });
    if (interview.status === InterviewStatus.Failed) interview.moveTo(InterviewStatus.Finalizing);
    if (interview.status !== InterviewStatus.Finalizing) return;
    await em.flush();

    try {
      const directory = this.recordingDir(interviewId);
      let files = await this.#loadFileRows(interviewId);
      if (this.progressive && !files.every((file) => file.status === RecordingFileStatus.Uploaded)) {
        const startedAt = Date.now();
        const progress: FileProgress[] = files.map((row) => ({ kind: row.kind, status: row.status, sizeBytes: row.sizeBytes, uploadedBytes: row.uploadedBytes }));
        this.#progress.set(interviewId, progress);
        const delivered = await this.progressive.finish(interviewId, (kind, status, sizeBytes, uploadedBytes) => {
          Object.assign(progress.find((entry) => entry.kind === kind)!, { status, sizeBytes, uploadedBytes });
          this.emit('progress', interviewId, progress.map((entry) => ({ ...entry })));
        });
        if (delivered.length > 0) log.info({ ms: Date.now() - startedAt, files: delivered.map((file) => file.kind) }, 'delivered progressively');
        files = await this.#loadFileRows(interviewId);
      }
      const alreadyUploaded = files.every((file) => file.status === RecordingFileStatus.Uploaded);
      if (!alreadyUploaded) {
        const startedAt = Date.now();
        let finalPaths: Record<RecordingFileKind, string>;
        try {
          finalPaths = await this.#options.finalizeRecording(directory);
        } catch (error) {
          if (!(error instanceof NoRecordedMediaError)) throw error;
          // Ended before any media reached a file: nothing to deliver, and nothing to retry.
          log.warn('interview ended without any recorded media');
          await this.#complete(em, interview, directory, log);
          return;
        }
        log.info({ ms: Date.now() - startedAt }, 'recording finalized on disk');
        await this.#uploadAll(interviewId, files, finalPaths, log);
      }

      for (const file of files) {
        const url = this.#options.objectStore.publicUrlFor(file.objectKey, this.#options.publicUrl);
        if (file.kind === 'screen') interview.screenVideo = url;
        else interview.candidateVideo = url;
      }
      // Local files go only now: both objects are stored and their sizes verified.
      await this.#complete(em, interview, directory, log);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.error({ err: error }, 'finalizing the interview failed');
      interview.failureReason = reason;
      interview.moveTo(InterviewStatus.Failed);
      this.#options.webhooks?.record(em, 'interview.failed', interview.id, { reason });
      await em.flush();
      this.#options.webhooks?.poke();
      uploadFailures.inc();
      this.emit('failed', interview);
    }
  }

  async #complete(em: EntityManager, interview: Interview, directory: string, log: Logger): Promise<void> {
    interview.failureReason = null;
    interview.moveTo(InterviewStatus.Completed);
    this.#options.webhooks?.record(em, 'interview.completed', interview.id, {
      completedAt: interview.completedAt?.toISOString() ?? null,
      screenVideo: interview.screenVideo,
      candidateVideo: interview.candidateVideo,
    });
    await em.flush();
    this.#options.webhooks?.poke();
    if (interview.completedAt) endToUrls.observe((Date.now() - interview.completedAt.getTime()) / 1000);
    const sizes = await em.find(RecordingFile, { interviewId: interview.id });
    recordedBytes.inc(sizes.reduce((sum, row) => sum + (row.status === RecordingFileStatus.Uploaded ? row.sizeBytes : 0), 0));
    await fs.promises.rm(directory, { recursive: true, force: true });
    log.info('interview completed');
    this.emit('completed', interview);
  }

  async #loadFileRows(interviewId: string): Promise<RecordingFile[]> {
    const em = this.#options.database.em();
    const rows = await em.find(RecordingFile, { interviewId });
    for (const kind of RECORDING_FILE_KINDS) {
      if (!rows.some((row) => row.kind === kind)) {
        const row = new RecordingFile(interviewId, kind);
        em.persist(row);
        rows.push(row);
      }
    }
    await em.flush();
    return rows.sort((a, b) => a.kind.localeCompare(b.kind));
  }

  async #uploadAll(interviewId: string, files: RecordingFile[], finalPaths: Record<RecordingFileKind, string>, log: Logger): Promise<void> {
    const progress: FileProgress[] = files.map((row) => ({ kind: row.kind, status: row.status, sizeBytes: row.sizeBytes, uploadedBytes: row.uploadedBytes }));
    this.#progress.set(interviewId, progress);
    const publish = () => this.emit('progress', interviewId, progress.map((entry) => ({ ...entry })));
    const results = await Promise.allSettled(
      progress.map((entry) => (entry.status === RecordingFileStatus.Uploaded ? undefined : this.#uploadOne(interviewId, entry, finalPaths[entry.kind], publish, log))),
    );
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /** Uploads one file; its own unit of work, so the two uploads never share a flush. */
  async #uploadOne(interviewId: string, entry: FileProgress, localFile: string, publish: () => void, log: Logger): Promise<void> {
    const em = this.#options.database.em();
    const row = await em.findOneOrFail(RecordingFile, { interviewId, kind: entry.kind });
    row.sizeBytes = (await fs.promises.stat(localFile)).size;
    row.uploadedBytes = 0;
    row.error = null;
    if (row.status === RecordingFileStatus.Recording) row.moveTo(RecordingFileStatus.Finalized);
    row.moveTo(RecordingFileStatus.Uploading);
    Object.assign(entry, { status: row.status, sizeBytes: row.sizeBytes, uploadedBytes: 0 });
    await em.flush();
    publish();

    let lastPersist = Date.now();
    let persisting: Promise<void> = Promise.resolve();
    try {
      await uploadFile(
        { client: this.#options.objectStore.client, bucket: this.#options.objectStore.bucket, partSizeBytes: this.#options.partSizeBytes },
        {
          file: localFile,
          key: row.objectKey,
          contentType: 'video/webm',
          retryWindowMs: this.#options.retryWindowMs,
          onProgress: (uploaded) => {
            entry.uploadedBytes = uploaded;
            row.uploadedBytes = uploaded;
            publish();
            if (Date.now() - lastPersist > PROGRESS_PERSIST_INTERVAL_MS) {
              lastPersist = Date.now();
              persisting = persisting.then(() => em.flush()).catch(() => undefined);
            }
          },
          onRetry: (error, attempt) => {
            uploadRetries.inc();
            log.warn({ key: row.objectKey, attempt, err: error.message }, 'upload attempt failed; retrying');
          },
        },
      );
      row.moveTo(RecordingFileStatus.Uploaded);
      uploadParts.inc({ strategy: 'whole_file' }, Math.max(1, Math.ceil(row.sizeBytes / this.#options.partSizeBytes)));
    } catch (error) {
      row.error = error instanceof Error ? error.message : String(error);
      row.moveTo(RecordingFileStatus.Failed);
      throw error;
    } finally {
      entry.status = row.status;
      await persisting;
      await em.flush();
      publish();
    }
  }
}
