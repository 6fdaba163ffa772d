import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { abortIfPermanent, withRetries } from '../retryPolicy.ts';
import { UploadVerificationError, type UploadDestination } from '../upload/uploadFile.ts';

/** One part the object store holds: what CompleteMultipartUpload needs, and what we sent. */
export interface StoredPart {
  partNumber: number;
  etag: string;
  sizeBytes: number;
  /** MD5 (hex) of the bytes we sent, to check they are still the file's bytes at the end. */
  md5: string;
}

/** Everything needed to resume the upload after a restart (s3rver has no ListParts). Persist it. */
export interface MultipartState {
  uploadId: string;
  partSizeBytes: number;
  parts: StoredPart[];
}

export interface ProgressiveUploadOptions {
  destination: UploadDestination;
  key: string;
  contentType: string;
  /** The file being uploaded; it may still grow, but only its first part may still change. */
  file: string;
  /** Transient failures at completion are retried with backoff for this long. */
  retryWindowMs: number;
  /** An upload begun earlier (after a restart); a new multipart upload is created otherwise. */
  state?: MultipartState | undefined;
  /** Called (and awaited) after the upload is created and after every stored part. */
  persist: (state: MultipartState) => Promise<void>;
  logger?: Logger | undefined;
  pollIntervalMs?: number;
  /** Called after each stored part, with the bytes stored so far. */
  onProgress?: (storedBytes: number) => void;
  /** Called when a call to the object store failed transiently and is tried again. */
  onRetry?: (error: Error) => void;
}

/** R2 and S3 accept at most this many parts. */
const MAX_PARTS = 10_000;

/** What completing cost: the end of an interview waits for exactly this. */
export interface CompletedUpload {
  sizeBytes: number;
  parts: number;
  /** Parts (and their bytes) that were left for the end: part 1 and whatever the tail needed. */
  partsAtEnd: number;
  bytesAtEnd: number;
  partsMs: number;
  /** CompleteMultipartUpload + HeadObject (s3rver re-reads every part here). */
  completeMs: number;
}

class ProgressiveUploadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProgressiveUploadError';
  }
}

/**
 * A multipart upload of a file that is still being written: every part but the first is uploaded
 * as soon as the file has grown past its end (parts 2..n never change once written, see
 * LiveRemux), so when the file is final only part 1 (its header was rewritten) and the tail are
 * left. Every part but the last has the same size (R2). Parts are plain `UploadPart` calls with
 * Buffer bodies — lib-storage's Upload can neither pick part numbers nor resume — and the state
 * after each part is handed to `persist`, so a restarted service can finish the upload.
 */
export class ProgressiveUpload {
  readonly #options: ProgressiveUploadOptions;
  readonly #state: MultipartState;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #polling = false;
  #completing: Promise<CompletedUpload> | undefined;
  #lastFollowError: string | undefined;

  private constructor(options: ProgressiveUploadOptions, state: MultipartState) {
    this.#options = options;
    this.#state = state;
  }

  /** Creates the multipart upload (or takes over `options.state`) and persists its id. */
  static async begin(options: ProgressiveUploadOptions): Promise<ProgressiveUpload> {
    const partSizeBytes = options.state?.partSizeBytes ?? options.destination.partSizeBytes;
    let state = options.state;
    if (!state) {
      const { destination } = options;
      const created = await destination.client.send(new CreateMultipartUploadCommand({ Bucket: destination.bucket, Key: options.key, ContentType: options.contentType }));
      if (!created.UploadId) throw new ProgressiveUploadError(`CreateMultipartUpload for ${options.key} returned no upload id`);
      state = { uploadId: created.UploadId, partSizeBytes, parts: [] };
      await options.persist(state);
    }
    return new ProgressiveUpload(options, { ...state, parts: [...state.parts] });
  }

  get state(): MultipartState {
    return { ...this.#state, parts: this.#state.parts.map((part) => ({ ...part })) };
  }

  get storedBytes(): number {
    return this.#state.parts.reduce((sum, part) => sum + part.sizeBytes, 0);
  }

  /**
   * For an upload resumed on a file made again (another node rebuilt it from the journal): keeps the
   * stored parts whose bytes, size and place the file holds exactly and forgets the others, which
   * complete() then uploads again. Returns how many parts were kept and dropped.
   */
  async keepMatchingParts(): Promise<{ kept: number; dropped: number }> {
    const sizeBytes = (await fs.stat(this.#options.file)).size;
    const partSize = this.#state.partSizeBytes;
    const partCount = Math.max(1, Math.ceil(sizeBytes / partSize));
    const expectedSize = (partNumber: number) => (partNumber < partCount ? partSize : sizeBytes - (partCount - 1) * partSize);
    const kept: StoredPart[] = [];
    for (const part of this.#state.parts) {
      if (part.partNumber > partCount || part.sizeBytes !== expectedSize(part.partNumber)) continue;
      const md5 = createHash('md5').update(await this.#readPart(part.partNumber, part.sizeBytes)).digest('hex');
      if (md5 === part.md5) kept.push(part);
    }
    const dropped = this.#state.parts.length - kept.length;
    if (dropped > 0) {
      this.#state.parts = kept;
      await this.#options.persist(this.state);
    }
    return { kept: kept.length, dropped };
  }

  /** Starts uploading parts 2..n as the file grows past them. */
  follow(): void {
    if (this.#timer || this.#completing) return;
    this.#timer = setInterval(() => void this.#poll(), this.#options.pollIntervalMs ?? 500);
    this.#timer.unref();
  }

  /** Stops following without completing (the state stays valid for a later complete()). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight.catch(() => undefined);
  }

  /**
   * The file is final: uploads part 1 and every part not stored yet, completes the multipart
   * upload and checks the stored size. Resolves once the object is known to be complete.
   */
  complete(): Promise<CompletedUpload> {
    this.#completing ??= this.#complete();
    return this.#completing;
  }

  /** Best effort: s3rver answers 405, R2's lifecycle rules clean up what is left. */
  async abort(): Promise<void> {
    await this.stop();
    const { destination, key } = this.#options;
    await destination.client.send(new AbortMultipartUploadCommand({ Bucket: destination.bucket, Key: key, UploadId: this.#state.uploadId })).catch(() => undefined);
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#completing) return;
    this.#polling = true;
    const run = (async () => {
      try {
        // The remux writes its output only once it has probed its input (a few seconds in).
        const size = await fs.stat(this.#options.file).then((stat) => stat.size, (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return 0;
          throw error;
        });
        const partSize = this.#state.partSizeBytes;
        // Part k (1-based) is [ (k-1)·P, k·P ): ready once the file is longer than its end.
        const readyParts = Math.min(Math.floor(size / partSize), MAX_PARTS);
        for (let partNumber = 2; partNumber <= readyParts && !this.#completing && this.#timer; partNumber++) {
          if (this.#stored(partNumber)) continue;
          await this.#uploadPart(partNumber, partSize);
        }
        this.#lastFollowError = undefined;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // Not fatal while recording: the part is tried again at the next poll, or at completion.
        if (message !== this.#lastFollowError) this.#options.logger?.warn({ err: message, key: this.#options.key }, 'progressive upload: a part failed; it will be retried');
        this.#lastFollowError = message;
      } finally {
        this.#polling = false;
      }
    })();
    this.#inFlight = run;
    await run;
  }

  #stored(partNumber: number): StoredPart | undefined {
    return this.#state.parts.find((part) => part.partNumber === partNumber);
  }

  async #readPart(partNumber: number, sizeBytes: number): Promise<Buffer> {
    const handle = await fs.open(this.#options.file, 'r');
    try {
      const buffer = Buffer.alloc(sizeBytes);
      const { bytesRead } = await handle.read(buffer, 0, sizeBytes, (partNumber - 1) * this.#state.partSizeBytes);
      if (bytesRead !== sizeBytes) throw new ProgressiveUploadError(`part ${partNumber} of ${this.#options.file}: read ${bytesRead} of ${sizeBytes} bytes`);
      return buffer;
    } finally {
      await handle.close();
    }
  }

  async #uploadPart(partNumber: number, sizeBytes: number): Promise<void> {
    const { destination, key } = this.#options;
    const body = await this.#readPart(partNumber, sizeBytes);
    const md5 = createHash('md5').update(body).digest('hex');
    const answer = await destination.client.send(
      new UploadPartCommand({ Bucket: destination.bucket, Key: key, UploadId: this.#state.uploadId, PartNumber: partNumber, Body: body, ContentLength: sizeBytes }),
    );
    if (!answer.ETag) throw new ProgressiveUploadError(`UploadPart ${partNumber} of ${key} returned no ETag`);
    const part: StoredPart = { partNumber, etag: answer.ETag, sizeBytes, md5 };
    this.#state.parts = [...this.#state.parts.filter((stored) => stored.partNumber !== partNumber), part].sort((a, b) => a.partNumber - b.partNumber);
    await this.#options.persist(this.state);
    this.#options.onProgress?.(this.storedBytes);
  }

  async #complete(): Promise<CompletedUpload> {
    await this.stop();
    const startedAt = Date.now();
    const { destination, key, retryWindowMs } = this.#options;
    const partSize = this.#state.partSizeBytes;
    const sizeBytes = (await fs.stat(this.#options.file)).size;
    const partCount = Math.max(1, Math.ceil(sizeBytes / partSize));
    if (partCount > MAX_PARTS) throw new ProgressiveUploadError(`${key} needs ${partCount} parts of ${partSize} bytes; at most ${MAX_PARTS} are allowed`);
    const expectedSize = (partNumber: number) => (partNumber < partCount ? partSize : sizeBytes - (partCount - 1) * partSize);

    // Parts stored while the file grew must still be its bytes. Only the start of the file is
    // ever rewritten, so part 2 is the one that would show a violation; checking it is cheap.
    for (const part of this.#state.parts) {
      if (part.partNumber > partCount || part.sizeBytes !== expectedSize(part.partNumber)) {
        throw new ProgressiveUploadError(`stored part ${part.partNumber} (${part.sizeBytes} bytes) does not fit the final file of ${sizeBytes} bytes`);
      }
    }
    const second = this.#stored(2);
    if (second && second.partNumber < partCount) {
      const md5 = createHash('md5').update(await this.#readPart(2, second.sizeBytes)).digest('hex');
      if (md5 !== second.md5) throw new ProgressiveUploadError(`part 2 of ${key} changed after it was uploaded`);
    }

    const missing: number[] = [];
    for (let partNumber = 1; partNumber <= partCount; partNumber++) {
      if (partNumber === 1 || !this.#stored(partNumber)) missing.push(partNumber);
    }
    const retried = <T>(what: () => Promise<T>) =>
      withRetries(
        async () => {
          try {
            return await what();
          } catch (error) {
            throw abortIfPermanent(error);
          }
        },
        { windowMs: retryWindowMs, onRetry: this.#options.onRetry },
      );
    // Two at a time: part 1 and the tail usually, so the end costs about one part's time.
    const queue = [...missing];
    await Promise.all(
      [0, 1].map(async () => {
        for (let partNumber = queue.shift(); partNumber !== undefined; partNumber = queue.shift()) {
          const number = partNumber;
          await retried(() => this.#uploadPart(number, expectedSize(number)));
        }
      }),
    );
    const partsDoneAt = Date.now();
    const parts = this.#state.parts.filter((part) => part.partNumber <= partCount);
    await retried(() =>
      destination.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: destination.bucket,
          Key: key,
          UploadId: this.#state.uploadId,
          MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
        }),
      ),
    );
    const head = await retried(() => destination.client.send(new HeadObjectCommand({ Bucket: destination.bucket, Key: key })));
    if (head.ContentLength !== sizeBytes) throw new UploadVerificationError(key, sizeBytes, head.ContentLength);
    return {
      sizeBytes,
      parts: partCount,
      partsAtEnd: missing.length,
      bytesAtEnd: missing.reduce((sum, partNumber) => sum + expectedSize(partNumber), 0),
      partsMs: partsDoneAt - startedAt,
      completeMs: Date.now() - partsDoneAt,
    };
  }
}
