import type { MultipartState } from '../../recorder-pipeline/progressive/ProgressiveUpload.ts';
import type { Database } from '../db/Database.ts';
import { RECORDING_FILE_KINDS, RecordingFile, RecordingFileStatus, type RecordingFileKind } from '../db/RecordingFile.ts';
import { uploadParts } from '../metrics/counters.ts';

import type { FileProgress } from '../../shared/vocabulary.ts';

export type { FileProgress } from '../../shared/vocabulary.ts';

export type ProgressListener = (progress: FileProgress) => void;

/**
 * The stored rows of one interview's two files, and the only place their status moves:
 * recording → finalized → uploading → uploaded (or failed). Both delivery strategies report
 * through here, so a restart finds each file where the last move left it.
 */
export class RecordingFiles {
  readonly #database: Database;
  readonly interviewId: string;
  /** Multipart state writes, one at a time per file (each includes the one before). */
  readonly #multipartWrites: Record<RecordingFileKind, Promise<void>> = { screen: Promise.resolve(), candidate: Promise.resolve() };
  /** How many parts each row's stored list holds, once read (see persistMultipart). */
  readonly #storedParts: Partial<Record<RecordingFileKind, number>> = {};

  constructor(database: Database, interviewId: string) {
    this.#database = database;
    this.interviewId = interviewId;
  }

  /** Both rows, created if missing, in kind order. */
  async rows(): Promise<RecordingFile[]> {
    const em = this.#database.em();
    const rows = await em.find(RecordingFile, { interviewId: this.interviewId });
    for (const kind of RECORDING_FILE_KINDS) {
      if (!rows.some((row) => row.kind === kind)) {
        const row = new RecordingFile(this.interviewId, kind);
        em.persist(row);
        rows.push(row);
      }
    }
    await em.flush();
    return rows.sort((a, b) => a.kind.localeCompare(b.kind));
  }

  /** Progress as last stored. */
  async storedProgress(): Promise<FileProgress[]> {
    const rows = await this.#database.em().find(RecordingFile, { interviewId: this.interviewId }, { orderBy: { kind: 'asc' } });
    return rows.map(progressOf);
  }

  /** The file is final on disk with `sizeBytes` and its upload begins (or resumes). */
  async beginUpload(kind: RecordingFileKind, sizeBytes: number, options: { keepUploadedBytes?: boolean } = {}): Promise<FileProgress> {
    return this.#update(kind, (row) => {
      row.sizeBytes = sizeBytes;
      if (!options.keepUploadedBytes) row.uploadedBytes = 0;
      row.error = null;
      if (row.status === RecordingFileStatus.Recording) row.moveTo(RecordingFileStatus.Finalized);
      row.moveTo(RecordingFileStatus.Uploading);
    });
  }

  /** Stored progress of an upload under way (written at most about once a second by callers). */
  async uploadedSoFar(kind: RecordingFileKind, uploadedBytes: number): Promise<void> {
    await this.#database.em().nativeUpdate(RecordingFile, { interviewId: this.interviewId, kind }, { uploadedBytes, updatedAt: new Date() });
  }

  async uploaded(kind: RecordingFileKind, sizeBytes: number): Promise<FileProgress> {
    return this.#update(kind, (row) => {
      row.uploadedBytes = sizeBytes;
      row.moveTo(RecordingFileStatus.Uploaded);
    });
  }

  async failed(kind: RecordingFileKind, error: unknown): Promise<FileProgress> {
    return this.#update(kind, (row) => {
      row.error = error instanceof Error ? error.message : String(error);
      row.moveTo(RecordingFileStatus.Failed);
    });
  }

  /** Stores a progressive upload's multipart state (its part list grows as parts are stored). */
  persistMultipart(kind: RecordingFileKind, state: MultipartState): Promise<void> {
    // A failed write must not poison the ones after it (the next part's state includes this one's).
    const write = this.#multipartWrites[kind].catch(() => undefined).then(async () => {
      const em = this.#database.em();
      const where = { interviewId: this.interviewId, kind };
      // The row's part count is read once (a resumed upload has parts already); from then on each
      // write is one UPDATE. A read-then-flush held SQLite's one connection across four round trips,
      // each an event-loop turn: ~1 s apiece on a saturated machine, with 84 others waiting.
      this.#storedParts[kind] ??= (await em.findOneOrFail(RecordingFile, where)).multipartParts.length;
      await em.nativeUpdate(RecordingFile, where, {
        multipartUploadId: state.uploadId,
        multipartPartSizeBytes: state.partSizeBytes,
        multipartParts: state.parts,
        uploadedBytes: state.parts.reduce((sum, part) => sum + part.sizeBytes, 0),
        updatedAt: new Date(),
      });
      uploadParts.inc({ strategy: 'progressive' }, Math.max(0, state.parts.length - this.#storedParts[kind]));
      this.#storedParts[kind] = state.parts.length;
    });
    this.#multipartWrites[kind] = write;
    return write;
  }

  /** Clears a file's multipart state: the whole-file upload then stores it under the same key. */
  async forgetMultipart(kind: RecordingFileKind): Promise<void> {
    await this.#multipartWrites[kind].catch(() => undefined);
    const em = this.#database.em();
    const row = await em.findOne(RecordingFile, { interviewId: this.interviewId, kind });
    if (!row || row.multipartUploadId === null) return;
    row.multipartUploadId = null;
    row.multipartPartSizeBytes = null;
    row.multipartParts = [];
    this.#storedParts[kind] = 0;
    row.uploadedBytes = 0;
    await em.flush();
  }

  async #update(kind: RecordingFileKind, change: (row: RecordingFile) => void): Promise<FileProgress> {
    const em = this.#database.em();
    const row = await em.findOneOrFail(RecordingFile, { interviewId: this.interviewId, kind });
    change(row);
    row.updatedAt = new Date();
    await em.flush();
    return progressOf(row);
  }
}

function progressOf(row: RecordingFile): FileProgress {
  return { kind: row.kind, status: row.status, sizeBytes: row.sizeBytes, uploadedBytes: row.uploadedBytes };
}
