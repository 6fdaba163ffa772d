import type { Logger } from 'pino';
import { RecordingFileStatus } from '../db/RecordingFile.ts';
import type { DeliveryStrategy } from './DeliveryStrategy.ts';
import type { FileProgress, RecordingFiles } from './RecordingFiles.ts';

export type DeliveryProgressListener = (files: FileProgress[]) => void;

/**
 * Gets one interview's stopped recording into the object store: each strategy in turn (progressive
 * first, then whole-file) delivers what is still pending. Works from the database and the disk
 * alone, so it resumes after a restart; throws when a file could not be delivered.
 */
export class RecordingDelivery {
  readonly #files: RecordingFiles;
  readonly #strategies: readonly DeliveryStrategy[];
  readonly #logger: Logger;
  #live: FileProgress[] | undefined;

  constructor(files: RecordingFiles, strategies: readonly DeliveryStrategy[], logger: Logger) {
    this.#files = files;
    this.#strategies = strategies;
    this.#logger = logger;
  }

  /** Live progress while a delivery runs; undefined otherwise. */
  get progress(): FileProgress[] | undefined {
    return this.#live?.map((entry) => ({ ...entry }));
  }

  /** Delivers what is pending; returns every file's progress at the end (all uploaded). */
  async deliver(onProgress: DeliveryProgressListener): Promise<FileProgress[]> {
    const rows = await this.#files.rows();
    const live = rows.map((row) => ({ kind: row.kind, status: row.status, sizeBytes: row.sizeBytes, uploadedBytes: row.uploadedBytes }));
    this.#live = live;
    const report = (update: FileProgress): void => {
      Object.assign(live.find((entry) => entry.kind === update.kind)!, update);
      onProgress(live.map((entry) => ({ ...entry })));
    };
    try {
      let pending = live.filter((entry) => entry.status !== RecordingFileStatus.Uploaded).map((entry) => entry.kind);
      for (const strategy of this.#strategies) {
        if (pending.length === 0) break;
        const startedAt = Date.now();
        const delivered = await strategy.deliver(report, pending);
        if (delivered.length > 0) this.#logger.info({ strategy: strategy.name, ms: Date.now() - startedAt, files: delivered }, 'files delivered');
        pending = pending.filter((kind) => !delivered.includes(kind));
      }
      if (pending.length > 0) throw new Error(`${pending.join(' and ')} could not be delivered`);
      return live.map((entry) => ({ ...entry }));
    } finally {
      this.#live = undefined;
    }
  }
}
