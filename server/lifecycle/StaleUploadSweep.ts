import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type MultipartUpload } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import { InterviewStatus } from '../db/InterviewStatus.ts';
import { parseRecordingObjectKey, RecordingFile } from '../db/RecordingFile.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';

const HOUR_MS = 3600_000;
/** Every recording's key starts with it (recordingObjectKey); nothing else in the bucket is looked at. */
const RECORDINGS_KEY_PREFIX = 'interviews/';

export interface StaleUploadSweepOptions {
  database: Database;
  objectStore: ObjectStore;
  /** STALE_UPLOAD_HOURS: an unfinished multipart upload started longer ago than this may be aborted. */
  staleAfterMs: number;
  /**
   * Whether this node sweeps this time (a cluster: one node per interval, see clusterKeys.staleUploadSweep).
   * Undefined: always (one node).
   */
  claim?: () => Promise<boolean>;
  logger: Logger;
  checkIntervalMs?: number;
}

interface SweepResult {
  aborted: Array<{ key: string; uploadId: string }>;
  kept: number;
}

/**
 * Multipart uploads a dead node left behind: their parts sit in the bucket (and are billed) until
 * someone aborts them. A whole-file upload's id lives only in the process that started it; a
 * progressive one's is in its RecordingFile row. Hourly (and at start), one node lists the
 * unfinished multipart uploads under `interviews/` and aborts each that is older than
 * STALE_UPLOAD_HOURS and owned by no delivery: not named by a recording file's stored upload id
 * (a retry may resume it), and not of an interview still live or being saved. Aborting twice is
 * harmless (the second finds no upload), so two nodes sweeping at once would do no damage either.
 */
export class StaleUploadSweep {
  readonly #options: StaleUploadSweepOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<SweepResult> | undefined;

  constructor(options: StaleUploadSweepOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer) return;
    const run = () =>
      void this.sweep().catch((error: unknown) => {
        // The embedded S3 server (s3rver) has no ListMultipartUploads (501): nothing can be swept there.
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 501) {
          clearInterval(this.#timer);
          this.#options.logger.info('the object store cannot list multipart uploads (501): stale uploads are not swept');
          return;
        }
        this.#options.logger.warn({ err: error }, 'could not look for stale multipart uploads; trying again at the next check');
      });
    this.#timer = setInterval(run, this.#options.checkIntervalMs ?? HOUR_MS);
    this.#timer.unref();
    run();
  }

  /** One look at `now`: aborts the stale, unowned uploads (unless another node has this interval's claim). */
  sweep(now = new Date()): Promise<SweepResult> {
    this.#sweeping ??= this.#sweep(now).finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweep(now: Date): Promise<SweepResult> {
    const { objectStore, staleAfterMs, claim, logger } = this.#options;
    const result: SweepResult = { aborted: [], kept: 0 };
    if (claim && !(await claim())) return result;
    const cutoff = now.getTime() - staleAfterMs;
    const stale = (await this.#listUploads()).filter((upload) => upload.Key && upload.UploadId && upload.Initiated && upload.Initiated.getTime() < cutoff);
    const owned = await this.#ownedUploadIds(stale);
    for (const upload of stale) {
      if (owned.has(upload.UploadId!)) {
        result.kept++;
        continue;
      }
      try {
        await objectStore.client.send(new AbortMultipartUploadCommand({ Bucket: objectStore.bucket, Key: upload.Key, UploadId: upload.UploadId }));
      } catch (error) {
        // Aborted meanwhile (another node, a completed retry): nothing left to do.
        if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
      }
      result.aborted.push({ key: upload.Key!, uploadId: upload.UploadId! });
      logger.info({ key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated!.toISOString() }, 'stale multipart upload aborted');
    }
    return result;
  }

  /** Every unfinished multipart upload under the recordings' prefix (all pages). */
  async #listUploads(): Promise<MultipartUpload[]> {
    const { objectStore } = this.#options;
    const uploads: MultipartUpload[] = [];
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (;;) {
      const page = await objectStore.client.send(new ListMultipartUploadsCommand({ Bucket: objectStore.bucket, Prefix: RECORDINGS_KEY_PREFIX, ...markers }));
      uploads.push(...(page.Uploads ?? []));
      if (!page.IsTruncated) return uploads;
      markers = { ...(page.NextKeyMarker ? { KeyMarker: page.NextKeyMarker } : {}), ...(page.NextUploadIdMarker ? { UploadIdMarker: page.NextUploadIdMarker } : {}) };
    }
  }

  /** The ids among `uploads` some delivery owns: stored on a recording file, or of an interview still live or being saved. */
  async #ownedUploadIds(uploads: MultipartUpload[]): Promise<Set<string>> {
    const owned = new Set<string>();
    if (uploads.length === 0) return owned;
    const em = this.#options.database.em();
    const ids = uploads.map((upload) => upload.UploadId!);
    for (const row of await em.find(RecordingFile, { multipartUploadId: { $in: ids } })) owned.add(row.multipartUploadId!);
    const interviewIds = [...new Set(uploads.map((upload) => parseRecordingObjectKey(upload.Key!)?.interviewId).filter((id): id is string => id !== undefined))];
    const busy = new Set(
      (await em.find(Interview, { id: { $in: interviewIds }, status: { $in: [InterviewStatus.Live, InterviewStatus.Finalizing] } })).map((interview) => interview.id),
    );
    for (const upload of uploads) if (busy.has(parseRecordingObjectKey(upload.Key!)?.interviewId ?? '')) owned.add(upload.UploadId!);
    return owned;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping?.catch(() => undefined);
  }
}
