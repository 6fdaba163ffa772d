import fs from 'node:fs';
import type { Logger } from 'pino';
import { NoRecordedMediaError, finalizeRecording } from '../../recorder-pipeline/finalize/finalizeRecording.ts';
import { uploadFile } from '../../recorder-pipeline/upload/uploadFile.ts';
import type { RecordingFile, RecordingFileKind } from '../db/RecordingFile.ts';
import { uploadParts, uploadRetries } from '../metrics/counters.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import type { DeliveryStrategy } from './DeliveryStrategy.ts';
import type { ProgressListener, RecordingFiles } from './RecordingFiles.ts';

export interface WholeFileDeliveryOptions {
  files: RecordingFiles;
  objectStore: ObjectStore;
  directory: string;
  partSizeBytes: number;
  retryWindowMs: number;
  logger: Logger;
}

/** Progress writes to the database at most this often per file; the live value is reported at once. */
const PROGRESS_PERSIST_INTERVAL_MS = 1000;

/** The recording held no media at all: there is nothing to deliver, and nothing to retry. */
export class NothingRecordedError extends Error {
  constructor() {
    super('the interview ended without any recorded media');
    this.name = 'NothingRecordedError';
  }
}

/**
 * Finalizes the segments on disk into the two files (the recorder restarted, the service
 * restarted, or progressive upload was off or failed) and uploads each whole, multipart.
 */
export class WholeFileDelivery implements DeliveryStrategy {
  readonly name = 'whole_file';
  readonly #options: WholeFileDeliveryOptions;

  constructor(options: WholeFileDeliveryOptions) {
    this.#options = options;
  }

  async deliver(report: ProgressListener, pending: readonly RecordingFileKind[]): Promise<RecordingFileKind[]> {
    const log = this.#options.logger;
    const startedAt = Date.now();
    let finalPaths: Record<RecordingFileKind, string>;
    try {
      const finalized = await finalizeRecording(this.#options.directory, { logger: this.#options.logger });
      finalPaths = { screen: finalized.screenPath, candidate: finalized.candidatePath };
    } catch (error) {
      if (error instanceof NoRecordedMediaError) throw new NothingRecordedError();
      throw error;
    }
    log.info({ ms: Date.now() - startedAt }, 'recording finalized on disk');
    const rows = (await this.#options.files.rows()).filter((row) => pending.includes(row.kind));
    // Both files go up together; each is its own unit of work, so one failing does not stop the other.
    const results = await Promise.allSettled(rows.map((row) => this.#uploadOne(row, finalPaths[row.kind], report)));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
    return rows.map((row) => row.kind);
  }

  async #uploadOne(row: RecordingFile, localFile: string, report: ProgressListener): Promise<void> {
    const { files, objectStore, partSizeBytes, logger } = this.#options;
    const sizeBytes = (await fs.promises.stat(localFile)).size;
    const progress = await files.beginUpload(row.kind, sizeBytes);
    report(progress);
    let lastPersist = Date.now();
    let persisting: Promise<void> = Promise.resolve();
    try {
      await uploadFile(
        { client: objectStore.client, bucket: objectStore.bucket, partSizeBytes },
        {
          file: localFile,
          key: row.objectKey,
          contentType: 'video/webm',
          retryWindowMs: this.#options.retryWindowMs,
          onProgress: (uploaded) => {
            report({ ...progress, uploadedBytes: uploaded });
            if (Date.now() - lastPersist > PROGRESS_PERSIST_INTERVAL_MS) {
              lastPersist = Date.now();
              persisting = persisting.then(() => files.uploadedSoFar(row.kind, uploaded)).catch(() => undefined);
            }
          },
          onRetry: (error, attempt) => {
            uploadRetries.inc();
            logger.warn({ key: row.objectKey, attempt, err: error.message }, 'upload attempt failed; retrying');
          },
        },
      );
      await persisting;
      report(await files.uploaded(row.kind, sizeBytes));
      uploadParts.inc({ strategy: 'whole_file' }, Math.max(1, Math.ceil(sizeBytes / partSizeBytes)));
    } catch (error) {
      await persisting;
      report(await files.failed(row.kind, error));
      throw error;
    }
  }
}
