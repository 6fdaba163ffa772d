import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { LiveRemux } from '../../recorder-pipeline/progressive/LiveRemux.ts';
import { ProgressiveUpload, type CompletedUpload, type MultipartState } from '../../recorder-pipeline/progressive/ProgressiveUpload.ts';
import { listSegments, segmentFile, segmentIndexesSync } from '../../recorder-pipeline/segments.ts';
import { RECORDING_FILE_KINDS, RecordingFileStatus, recordingObjectKey, type RecordingFileKind } from '../db/RecordingFile.ts';
import { uploadRetries } from '../metrics/counters.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import { PROGRESSIVE_DIR, finalFileOf } from '../../recorder-pipeline/recordingPaths.ts';
import type { DeliveryStrategy } from './DeliveryStrategy.ts';
import type { ProgressListener, RecordingFiles } from './RecordingFiles.ts';

export interface ProgressiveDeliveryOptions {
  files: RecordingFiles;
  objectStore: ObjectStore;
  /** The interview's recording directory. */
  directory: string;
  partSizeBytes: number;
  retryWindowMs: number;
  logger: Logger;
  /** How often a live remux looks for new bytes, and a new segment's files for their first byte. */
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

export type ProgressiveDeliveryEvents = {
  delivered: [file: DeliveredFile];
};

/** The live remux and multipart upload of one file. */
interface FileFollower {
  kind: RecordingFileKind;
  remux: LiveRemux;
  upload: ProgressiveUpload;
}

/** A segment's file exists once ffmpeg has probed its inputs: wait this long for it at most. */
const FILE_APPEAR_TIMEOUT_MS = 30_000;

/**
 * Uploads one interview's recording while it is recorded, so that ending it only leaves the
 * header and the tail to upload: end → URLs does not grow with the interview's length.
 *
 * The session calls `followFirstSegment()` before its first recording starts and `segmentStarted()`
 * from the recording's own event; per file a LiveRemux of the growing segment goes into
 * `.progressive/<file>.webm` and a ProgressiveUpload uploads that output. `deliver()` (after the
 * recording stopped) completes both.
 *
 * Only a recording that is one segment from start to end is delivered this way. Anything else —
 * the recorder restarted (a second segment), the service restarted mid-recording, the remux or
 * upload failed — delivers nothing for that file and the whole-file strategy finalizes and uploads
 * it from the segments on disk, which are never touched here. A service restarted *after* a file's
 * remux finished (status `uploading`, its multipart state stored, the final file on disk) resumes
 * the upload where it stopped.
 */
export class ProgressiveDelivery extends EventEmitter<ProgressiveDeliveryEvents> implements DeliveryStrategy {
  readonly name = 'progressive';
  readonly #options: ProgressiveDeliveryOptions;
  readonly #files = new Map<RecordingFileKind, FileFollower>();
  readonly #starting = new Map<RecordingFileKind, Promise<void>>();
  /** The segment followed: the recording's first, when no segment was on disk before it. */
  #segmentIndex: number | undefined;
  #following = false;
  #stopped = false;

  constructor(options: ProgressiveDeliveryOptions) {
    super();
    this.#options = options;
  }

  /** The multipart state of a followed file, while it is followed (tests, bench). */
  stateOf(kind: RecordingFileKind): MultipartState | undefined {
    return this.#files.get(kind)?.upload.state;
  }

  /** Pids of the live remux ffmpegs (bench: their CPU is the price of progressive upload). */
  remuxPids(): number[] {
    return [...this.#files.values()].flatMap((file) => (file.remux.pid ? [file.remux.pid] : []));
  }

  /**
   * Called before the interview's first recording of this process starts. Follows only a
   * recording that begins in an empty directory: after a restart mid-recording the recording goes
   * multi-segment and is finalized from disk.
   */
  followFirstSegment(): void {
    if (this.#following || this.#stopped) return;
    const segments = segmentIndexesSync(this.#options.directory).length;
    if (segments > 0) {
      this.#options.logger.info({ segments }, 'recording already has segments; it is not uploaded progressively');
      this.#stopped = true;
      return;
    }
    this.#following = true;
    void fs.rm(path.join(this.#options.directory, PROGRESSIVE_DIR), { recursive: true, force: true });
  }

  /** The recording's `segmentStarted`: the first one is followed, any later one ends following. */
  segmentStarted(index: number, dir: string): void {
    if (!this.#following || this.#stopped) return;
    // Usually segment-000; a failed ffmpeg start removes its directory and the recording begins in
    // the next one. A later segment after a followed one makes the recording multi-segment.
    if (this.#segmentIndex !== undefined && this.#segmentIndex !== index) return;
    this.#segmentIndex = index;
    for (const kind of RECORDING_FILE_KINDS) {
      if (this.#files.has(kind) || this.#starting.has(kind)) continue;
      const starting = this.#startFile(kind, segmentFile(dir, kind))
        .catch((error) => this.#options.logger.warn({ err: error, kind }, 'progressive upload could not start; the file will be uploaded at the end'))
        .finally(() => this.#starting.delete(kind));
      this.#starting.set(kind, starting);
    }
  }

  async #startFile(kind: RecordingFileKind, source: string): Promise<void> {
    // ffmpeg opens its outputs once it has probed the inputs, a moment after the segment started.
    const pollMs = this.#options.pollIntervalMs ?? 250;
    for (const deadline = Date.now() + FILE_APPEAR_TIMEOUT_MS; ; ) {
      if (this.#stopped) return;
      if (await fs.access(source).then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new Error(`${source} did not appear in ${FILE_APPEAR_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    const output = path.join(this.#options.directory, PROGRESSIVE_DIR, `${kind}.webm`);
    const remux = await LiveRemux.start({ source, output, logger: this.#options.logger, pollIntervalMs: pollMs });
    let upload: ProgressiveUpload;
    try {
      upload = await ProgressiveUpload.begin({ ...this.#uploadSettings(kind, output), logger: this.#options.logger.child({ kind }), persist: (state) => this.#options.files.persistMultipart(kind, state) });
    } catch (error) {
      await remux.abandon();
      throw error;
    }
    if (this.#stopped) {
      await remux.abandon();
      await upload.abort();
      return;
    }
    this.#files.set(kind, { kind, remux, upload });
    upload.follow();
    this.#options.logger.info({ kind, uploadId: upload.state.uploadId }, 'progressive upload started');
  }

  #uploadSettings(kind: RecordingFileKind, file: string) {
    return {
      destination: { client: this.#options.objectStore.client, bucket: this.#options.objectStore.bucket, partSizeBytes: this.#options.partSizeBytes },
      key: recordingObjectKey(this.#options.files.interviewId, kind),
      contentType: 'video/webm',
      file,
      retryWindowMs: this.#options.retryWindowMs,
      onRetry: () => uploadRetries.inc(),
      pollIntervalMs: Math.max(this.#options.pollIntervalMs ?? 250, 250) * 2,
    };
  }

  /**
   * The recording has stopped: delivers what can be delivered progressively and returns the kinds
   * delivered (none: the whole-file strategy delivers everything). Never throws.
   */
  async deliver(report: ProgressListener): Promise<RecordingFileKind[]> {
    const followed = this.#following;
    this.#stopped = true;
    await Promise.allSettled([...this.#starting.values()]);
    if (!followed || this.#files.size === 0) return (await this.#resume(report)).map((file) => file.kind);
    const segments = await listSegments(this.#options.directory).catch(() => []);
    if (segments.length !== 1 || segments[0]!.index !== this.#segmentIndex) {
      this.#options.logger.info({ segments: segments.length }, 'recording has more than one segment; falling back to finalize + upload');
      await this.#abandon();
      return [];
    }
    const results = await Promise.all([...this.#files.values()].map((file) => this.#finishFile(file, report)));
    return results.filter((result): result is DeliveredFile => result !== undefined).map((file) => file.kind);
  }

  async #finishFile(file: FileFollower, report: ProgressListener): Promise<DeliveredFile | undefined> {
    const log = this.#options.logger.child({ kind: file.kind });
    const target = finalFileOf(this.#options.directory, file.kind);
    try {
      const startedAt = Date.now();
      await file.remux.finish();
      // The final file under its usual name (a restart resumes from it); the upload keeps
      // reading the same inode through the remux's output name.
      await fs.rm(target, { force: true });
      await fs.link(file.remux.output, target);
      const sizeBytes = (await fs.stat(target)).size;
      const remuxMs = Date.now() - startedAt;
      // With the final size stored and the status uploading, a restart from here resumes.
      report({ ...(await this.#options.files.beginUpload(file.kind, sizeBytes, { keepUploadedBytes: true })), uploadedBytes: file.upload.storedBytes });
      const upload = await file.upload.complete();
      report(await this.#options.files.uploaded(file.kind, sizeBytes));
      log.info({ remuxMs, ...upload }, 'file delivered progressively');
      const delivered: DeliveredFile = { kind: file.kind, path: target, sizeBytes, remuxMs, upload };
      this.emit('delivered', delivered);
      return delivered;
    } catch (error) {
      log.warn({ err: error }, 'progressive delivery failed; the file is finalized and uploaded from the segments');
      await file.remux.abandon();
      await file.upload.abort();
      await fs.rm(target, { force: true });
      await this.#options.files.forgetMultipart(file.kind);
      return undefined;
    }
  }

  /**
   * After a restart, or on the node that took the delivery over from one that died: completes
   * uploads whose final file was made before that node stopped. The final file is on this disk
   * (a restart), or it is made again from the one segment (restored from the journal on another
   * node): then each stored part is kept only if the new file holds its bytes exactly, so what the
   * lost node stored is not sent again.
   */
  async #resume(report: ProgressListener): Promise<DeliveredFile[]> {
    const delivered: DeliveredFile[] = [];
    for (const row of await this.#options.files.rows()) {
      if (!row.multipartUploadId || row.multipartPartSizeBytes === null || row.status === RecordingFileStatus.Uploaded) continue;
      const target = finalFileOf(this.#options.directory, row.kind);
      // Only a file whose remux finished (status uploading, final size stored) can be resumed.
      let size = row.status === RecordingFileStatus.Uploading ? await fs.stat(target).then((stat) => stat.size, () => undefined) : undefined;
      const rebuilt = row.status === RecordingFileStatus.Uploading && size === undefined;
      if (rebuilt) size = await this.#rebuild(row.kind, target);
      if (size === undefined || size !== row.sizeBytes) {
        // The remux never finished (a restart mid-recording), or the file made again differs: the segments are finalized instead.
        if (rebuilt) this.#options.logger.info({ kind: row.kind, size, stored: row.sizeBytes }, 'the file made again from the segment does not match the stored upload; it is uploaded whole');
        await this.#options.files.forgetMultipart(row.kind);
        continue;
      }
      try {
        const upload = await ProgressiveUpload.begin({
          ...this.#uploadSettings(row.kind, target),
          state: { uploadId: row.multipartUploadId, partSizeBytes: row.multipartPartSizeBytes, parts: row.multipartParts },
          logger: this.#options.logger.child({ kind: row.kind }),
          persist: (state) => this.#options.files.persistMultipart(row.kind, state),
        });
        const checked = rebuilt ? await upload.keepMatchingParts() : undefined;
        const completed = await upload.complete();
        report(await this.#options.files.uploaded(row.kind, size));
        this.#options.logger.info({ kind: row.kind, storedParts: row.multipartParts.length, rebuilt, keptParts: checked?.kept, droppedParts: checked?.dropped, partsAtEnd: completed.partsAtEnd, bytesAtEnd: completed.bytesAtEnd }, 'progressive upload resumed and completed');
        const file: DeliveredFile = { kind: row.kind, path: target, sizeBytes: size, upload: completed };
        this.emit('delivered', file);
        delivered.push(file);
      } catch (error) {
        this.#options.logger.warn({ err: error, kind: row.kind }, 'resuming the progressive upload failed; the file is uploaded whole');
        await this.#options.files.forgetMultipart(row.kind);
      }
    }
    return delivered;
  }

  /**
   * Makes the final file again as the live remux made it, from the recording's only segment (the
   * remux of a complete segment gives the same bytes after its header). Undefined when there is not
   * exactly one segment or the remux fails.
   */
  async #rebuild(kind: RecordingFileKind, target: string): Promise<number | undefined> {
    const segments = await listSegments(this.#options.directory).catch(() => []);
    if (segments.length !== 1) return undefined;
    const output = path.join(this.#options.directory, PROGRESSIVE_DIR, `${kind}.webm`);
    try {
      const remux = await LiveRemux.start({ source: segmentFile(segments[0]!.dir, kind), output, logger: this.#options.logger });
      await remux.finish();
      await fs.rm(target, { force: true });
      await fs.link(output, target);
      return (await fs.stat(target)).size;
    } catch (error) {
      this.#options.logger.warn({ err: error, kind }, 'could not make the final file again from the segment');
      return undefined;
    }
  }

  async #abandon(): Promise<void> {
    await Promise.allSettled(
      [...this.#files.values()].map(async (file) => {
        await file.remux.abandon();
        await file.upload.abort();
        await this.#options.files.forgetMultipart(file.kind);
      }),
    );
    this.#files.clear();
    await fs.rm(path.join(this.#options.directory, PROGRESSIVE_DIR), { recursive: true, force: true });
  }

  /**
   * Shutdown: stops following. Multipart state stays in the database; a recording that goes on
   * after the restart is multi-segment and is finalized from disk.
   */
  async close(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled([...this.#starting.values()]);
    await Promise.allSettled([...this.#files.values()].map(async (file) => Promise.all([file.remux.abandon(), file.upload.stop()])));
  }
}
