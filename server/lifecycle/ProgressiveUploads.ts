import { EventEmitter } from 'node:events';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { LiveRemux } from '../../recorder-pipeline/progressive/LiveRemux.ts';
import { ProgressiveUpload, type CompletedUpload, type MultipartState } from '../../recorder-pipeline/progressive/ProgressiveUpload.ts';
import { listSegments, segmentDir, segmentFile, segmentIndexesSync } from '../../recorder-pipeline/segments.ts';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import { RECORDING_FILE_KINDS, RecordingFile, RecordingFileStatus, type RecordingFileKind } from '../db/RecordingFile.ts';
import { uploadParts, uploadRetries } from '../metrics/counters.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import { hasEnded } from './InterviewStatus.ts';

export interface ProgressiveUploadsOptions {
  database: Database;
  objectStore: ObjectStore;
  recordingsDir: string;
  partSizeBytes: number;
  retryWindowMs: number;
  logger: Logger;
  /** How often a follower looks for the first segment and for new complete parts. */
  pollIntervalMs?: number;
}

/** Where a file delivered progressively ended up. */
export interface DeliveredFile {
  kind: RecordingFileKind;
  path: string;
  sizeBytes: number;
  /** What the end of the interview waited for (undefined when resumed after a restart). */
  remuxMs?: number;
  upload: CompletedUpload;
}

export type ProgressiveUploadsEvents = {
  delivered: [interviewId: string, file: DeliveredFile];
};

export interface FinishProgress {
  (kind: RecordingFileKind, status: RecordingFileStatus, sizeBytes: number, uploadedBytes: number): void;
}

/** The live remux and multipart upload of one file of one interview. */
interface FileFollower {
  kind: RecordingFileKind;
  remux: LiveRemux;
  upload: ProgressiveUpload;
}

/** One interview's followers, from its first segment appearing until finish() or close(). */
interface InterviewFollower {
  interviewId: string;
  directory: string;
  files: Map<RecordingFileKind, FileFollower>;
  starting: Map<RecordingFileKind, Promise<void>>;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  /** The segment being followed: the recording's first, chosen when it appears. */
  segmentIndex: number | undefined;
}

const PROGRESSIVE_DIR = '.progressive';

/**
 * Uploads an interview's recording while it is being recorded, so that ending it only leaves the
 * header and the tail to upload: end → URLs does not grow with the interview's length.
 *
 * `follow(id)` (called when the interview's room opens) waits for the recording's first segment
 * (usually `segment-000/`), then per file runs a LiveRemux of the growing segment into
 * `.progressive/<file>.webm` and a ProgressiveUpload of that output. `finish(id)` (called by the
 * finalizer once the recording has stopped) completes both and returns the delivered files.
 *
 * Only a recording that is one segment from start to end is delivered this way. Anything else —
 * the recorder restarted (a second segment), the service restarted mid-recording (the follower
 * is gone), the remux or upload failed — makes finish() deliver nothing for that file and the
 * finalizer falls back to the full finalize + upload from the segments on disk, which are never
 * touched here. A service restarted *after* a file's remux finished (status `uploading`, its
 * multipart state in the database, the final file on disk) resumes the upload where it stopped.
 */
export class ProgressiveUploads extends EventEmitter<ProgressiveUploadsEvents> {
  readonly #options: ProgressiveUploadsOptions;
  readonly #followers = new Map<string, InterviewFollower>();
  #closed = false;

  constructor(options: ProgressiveUploadsOptions) {
    super();
    this.#options = options;
  }

  recordingDir(interviewId: string): string {
    return path.join(this.#options.recordingsDir, interviewId);
  }

  /** Whether a follower runs for the interview (tests, bench). */
  isFollowing(interviewId: string): boolean {
    return this.#followers.has(interviewId);
  }

  /** The multipart state of a followed file, while it is followed (tests, bench). */
  stateOf(interviewId: string, kind: RecordingFileKind): MultipartState | undefined {
    return this.#followers.get(interviewId)?.files.get(kind)?.upload.state;
  }

  /** Pids of the live remux ffmpegs (bench: their CPU is the price of progressive upload). */
  remuxPids(): number[] {
    const pids: number[] = [];
    for (const follower of this.#followers.values()) for (const file of follower.files.values()) if (file.remux.pid) pids.push(file.remux.pid);
    return pids;
  }

  /**
   * Starts following the interview's recording from its first segment. Idempotent; does nothing
   * when segments are already on disk (a restart mid-recording: that recording goes multi-segment
   * and is finalized from disk).
   */
  follow(interviewId: string): void {
    if (this.#closed || this.#followers.has(interviewId)) return;
    const directory = this.recordingDir(interviewId);
    const follower: InterviewFollower = { interviewId, directory, files: new Map(), starting: new Map(), timer: undefined, stopped: false, segmentIndex: undefined };
    this.#followers.set(interviewId, follower);
    // Checked synchronously: the recording may create segment-000 right after this call.
    const segments = segmentIndexesSync(directory).length;
    if (segments > 0) {
      this.#options.logger.info({ interviewId, segments }, 'recording already has segments; it is not uploaded progressively');
      this.#followers.delete(interviewId);
      return;
    }
    fsSync.rmSync(path.join(directory, PROGRESSIVE_DIR), { recursive: true, force: true });
    follower.timer = setInterval(() => this.#lookForFirstSegment(follower), this.#options.pollIntervalMs ?? 250);
    follower.timer.unref();
    // A room opened for an interview that has already ended (a proctor reviewing it) has no recording to follow.
    void this.#options.database
      .em()
      .findOne(Interview, { id: interviewId })
      .then((interview) => {
        if (interview && hasEnded(interview.status) && this.#followers.get(interviewId) === follower && follower.files.size === 0) {
          this.#followers.delete(interviewId);
          follower.stopped = true;
          clearInterval(follower.timer);
        }
      })
      .catch(() => undefined);
  }

  #lookForFirstSegment(follower: InterviewFollower): void {
    if (follower.stopped) return;
    // Usually segment-000; but a failed ffmpeg start removes its directory and the recording
    // begins in the next one. Chosen again until a file of it is followed.
    if (follower.files.size === 0 && follower.starting.size === 0) follower.segmentIndex = segmentIndexesSync(follower.directory)[0];
    if (follower.segmentIndex === undefined) return;
    const first = segmentDir(follower.directory, follower.segmentIndex);
    for (const kind of RECORDING_FILE_KINDS) {
      if (follower.files.has(kind) || follower.starting.has(kind)) continue;
      const source = segmentFile(first, kind);
      const starting = this.#startFile(follower, kind, source)
        .catch((error) => this.#options.logger.warn({ err: error, interviewId: follower.interviewId, kind }, 'progressive upload could not start; the file will be uploaded at the end'))
        .finally(() => follower.starting.delete(kind));
      follower.starting.set(kind, starting);
    }
    if (follower.files.size === RECORDING_FILE_KINDS.length) {
      clearInterval(follower.timer);
      follower.timer = undefined;
    }
  }

  async #startFile(follower: InterviewFollower, kind: RecordingFileKind, source: string): Promise<void> {
    // The segment file exists as soon as ffmpeg opened it; its row is created before that.
    const exists = await fs.access(source).then(() => true, () => false);
    if (!exists || follower.stopped) return;
    const row = await this.#options.database.em().findOne(RecordingFile, { interviewId: follower.interviewId, kind });
    if (!row || follower.stopped) return;
    const output = path.join(follower.directory, PROGRESSIVE_DIR, `${kind}.webm`);
    const remux = await LiveRemux.start({ source, output, logger: this.#options.logger, pollIntervalMs: this.#options.pollIntervalMs ?? 250 });
    let upload: ProgressiveUpload;
    try {
      upload = await ProgressiveUpload.begin({
        ...this.#uploadSettings(row, output),
        logger: this.#options.logger.child({ interviewId: follower.interviewId, kind }),
        persist: this.#persister(follower.interviewId, kind),
      });
    } catch (error) {
      await remux.abandon();
      throw error;
    }
    if (follower.stopped) {
      await remux.abandon();
      await upload.abort();
      return;
    }
    follower.files.set(kind, { kind, remux, upload });
    upload.follow();
    this.#options.logger.info({ interviewId: follower.interviewId, kind, uploadId: upload.state.uploadId }, 'progressive upload started');
  }

  #uploadSettings(row: RecordingFile, file: string) {
    return {
      destination: { client: this.#options.objectStore.client, bucket: this.#options.objectStore.bucket, partSizeBytes: this.#options.partSizeBytes },
      key: row.objectKey,
      contentType: 'video/webm',
      file,
      retryWindowMs: this.#options.retryWindowMs,
      onRetry: () => uploadRetries.inc(),
      pollIntervalMs: Math.max(this.#options.pollIntervalMs ?? 250, 250) * 2,
    };
  }

  /** Writes the multipart state to the file's row, one write at a time. */
  #persister(interviewId: string, kind: RecordingFileKind): (state: MultipartState) => Promise<void> {
    let chain: Promise<void> = Promise.resolve();
    return (state) => {
      // A failed write must not poison the ones after it (the next part's state includes this one's).
      chain = chain.catch(() => undefined).then(async () => {
        const em = this.#options.database.em();
        const row = await em.findOneOrFail(RecordingFile, { interviewId, kind });
        row.multipartUploadId = state.uploadId;
        row.multipartPartSizeBytes = state.partSizeBytes;
        uploadParts.inc({ strategy: 'progressive' }, Math.max(0, state.parts.length - row.multipartParts.length));
        row.multipartParts = state.parts;
        row.uploadedBytes = state.parts.reduce((sum, part) => sum + part.sizeBytes, 0);
        row.updatedAt = new Date();
        await em.flush();
      });
      return chain;
    };
  }

  /**
   * The recording has stopped: delivers what can be delivered progressively and returns it (an
   * empty list means: finalize and upload everything from the segments). Never throws.
   */
  async finish(interviewId: string, onProgress?: FinishProgress): Promise<DeliveredFile[]> {
    const follower = this.#followers.get(interviewId);
    if (follower) {
      this.#followers.delete(interviewId);
      follower.stopped = true;
      clearInterval(follower.timer);
      await Promise.allSettled([...follower.starting.values()]);
    }
    if (!follower || follower.files.size === 0) return this.#resume(interviewId, onProgress);
    const segments = await listSegments(follower.directory).catch(() => []);
    if (segments.length !== 1 || segments[0]!.index !== follower.segmentIndex) {
      if (follower.files.size > 0) this.#options.logger.info({ interviewId, segments: segments.length }, 'recording has more than one segment; falling back to finalize + upload');
      await this.#abandon(follower);
      return [];
    }
    const results = await Promise.all([...follower.files.values()].map((file) => this.#finishFile(follower, file, onProgress)));
    return results.filter((result): result is DeliveredFile => result !== undefined);
  }

  async #finishFile(follower: InterviewFollower, file: FileFollower, onProgress: FinishProgress | undefined): Promise<DeliveredFile | undefined> {
    const { interviewId, directory } = follower;
    const log = this.#options.logger.child({ interviewId, kind: file.kind });
    const target = path.join(directory, `${file.kind}.webm`);
    try {
      const startedAt = Date.now();
      await file.remux.finish();
      // The final file under its usual name (a restart resumes from it); the upload keeps
      // reading the same inode through the remux's output name.
      await fs.rm(target, { force: true });
      await fs.link(file.remux.output, target);
      const sizeBytes = (await fs.stat(target)).size;
      const remuxMs = Date.now() - startedAt;
      // Recording → finalized → uploading, with the final size: a restart from here resumes.
      const em = this.#options.database.em();
      const row = await em.findOneOrFail(RecordingFile, { interviewId, kind: file.kind });
      row.sizeBytes = sizeBytes;
      row.error = null;
      if (row.status === RecordingFileStatus.Recording) row.moveTo(RecordingFileStatus.Finalized);
      row.moveTo(RecordingFileStatus.Uploading);
      await em.flush();
      onProgress?.(file.kind, row.status, sizeBytes, file.upload.storedBytes);
      const upload = await this.#complete(interviewId, file.kind, file.upload, sizeBytes, onProgress);
      log.info({ remuxMs, ...upload }, 'file delivered progressively');
      const delivered: DeliveredFile = { kind: file.kind, path: target, sizeBytes, remuxMs, upload };
      this.emit('delivered', interviewId, delivered);
      return delivered;
    } catch (error) {
      log.warn({ err: error }, 'progressive delivery failed; the file is finalized and uploaded from the segments');
      await file.remux.abandon();
      await file.upload.abort();
      await fs.rm(target, { force: true });
      await this.#forget(interviewId, file.kind);
      return undefined;
    }
  }

  async #complete(interviewId: string, kind: RecordingFileKind, upload: ProgressiveUpload, sizeBytes: number, onProgress: FinishProgress | undefined): Promise<CompletedUpload> {
    const completed = await upload.complete();
    const em = this.#options.database.em();
    const row = await em.findOneOrFail(RecordingFile, { interviewId, kind });
    row.uploadedBytes = sizeBytes;
    row.moveTo(RecordingFileStatus.Uploaded);
    await em.flush();
    onProgress?.(kind, row.status, sizeBytes, sizeBytes);
    return completed;
  }

  /** After a restart: completes uploads whose final file was made before the service stopped. */
  async #resume(interviewId: string, onProgress: FinishProgress | undefined): Promise<DeliveredFile[]> {
    const delivered: DeliveredFile[] = [];
    const rows = await this.#options.database.em().find(RecordingFile, { interviewId });
    for (const row of rows) {
      if (!row.multipartUploadId || row.multipartPartSizeBytes === null) continue;
      const target = path.join(this.recordingDir(interviewId), `${row.kind}.webm`);
      const size = await fs.stat(target).then((stat) => stat.size, () => undefined);
      if (row.status !== RecordingFileStatus.Uploading || size !== row.sizeBytes) {
        // The remux never finished (a restart mid-recording): the segments are finalized instead.
        await this.#forget(interviewId, row.kind);
        continue;
      }
      const upload = await ProgressiveUpload.begin({
        ...this.#uploadSettings(row, target),
        state: { uploadId: row.multipartUploadId, partSizeBytes: row.multipartPartSizeBytes, parts: row.multipartParts },
        logger: this.#options.logger.child({ interviewId, kind: row.kind }),
        persist: this.#persister(interviewId, row.kind),
      });
      try {
        const completed = await this.#complete(interviewId, row.kind, upload, size, onProgress);
        this.#options.logger.info({ interviewId, kind: row.kind, storedParts: row.multipartParts.length }, 'progressive upload resumed and completed');
        const file: DeliveredFile = { kind: row.kind, path: target, sizeBytes: size, upload: completed };
        this.emit('delivered', interviewId, file);
        delivered.push(file);
      } catch (error) {
        this.#options.logger.warn({ err: error, interviewId, kind: row.kind }, 'resuming the progressive upload failed; the file is uploaded whole');
        await this.#forget(interviewId, row.kind);
      }
    }
    return delivered;
  }

  /** Clears a file's multipart state: the fallback uploads the whole file under the same key. */
  async #forget(interviewId: string, kind: RecordingFileKind): Promise<void> {
    const em = this.#options.database.em();
    const row = await em.findOne(RecordingFile, { interviewId, kind });
    if (!row || row.multipartUploadId === null) return;
    row.multipartUploadId = null;
    row.multipartPartSizeBytes = null;
    row.multipartParts = [];
    row.uploadedBytes = 0;
    await em.flush();
  }

  async #abandon(follower: InterviewFollower): Promise<void> {
    follower.stopped = true;
    clearInterval(follower.timer);
    await Promise.allSettled([...follower.starting.values()]);
    await Promise.allSettled(
      [...follower.files.values()].map(async (file) => {
        await file.remux.abandon();
        await file.upload.abort();
        await this.#forget(follower.interviewId, file.kind);
      }),
    );
    await fs.rm(path.join(follower.directory, PROGRESSIVE_DIR), { recursive: true, force: true });
  }

  /**
   * Shutdown: stops every follower. Multipart state stays in the database; a recording that goes
   * on after the restart is multi-segment and is finalized from disk.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const followers = [...this.#followers.values()];
    this.#followers.clear();
    await Promise.allSettled(
      followers.map(async (follower) => {
        follower.stopped = true;
        clearInterval(follower.timer);
        await Promise.allSettled([...follower.starting.values()]);
        await Promise.allSettled([...follower.files.values()].map(async (file) => Promise.all([file.remux.abandon(), file.upload.stop()])));
      }),
    );
  }
}
