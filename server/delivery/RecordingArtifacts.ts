import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { putFile } from '../../recorder-pipeline/upload/putFile.ts';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import { InterviewStatus } from '../db/InterviewStatus.ts';
import { RecordingArtifact, RecordingArtifactStatus } from '../db/RecordingArtifact.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';

/**
 * One kind of file made from a finished recording and stored beside its videos under
 * `interviews/<id>/<fileName>` (the filmstrip; a timeline's WebVTT would be another). Registering a
 * maker in Service.ts is all it takes: a row per interview, the upload, signed serving through
 * `/media`, retention and delete come with it.
 */
export interface ArtifactMaker {
  /** The row's name, one per interview (`filmstrip`). */
  readonly name: string;
  /** The object's name beside the videos (`filmstrip.jpg`). */
  readonly fileName: string;
  readonly contentType: string;
  /**
   * Makes the file. `directory` is the interview's recording directory with the final
   * `screen.webm` and `candidate.webm` in it (when this node finalized them); `workDir` is empty and
   * removed afterwards. Throws when it cannot: the artifact is then `failed`, the interview not.
   * `{ skipped }`: this recording gets none (its row goes; the reason is logged).
   */
  make(input: { interviewId: string; directory: string; workDir: string; signal: AbortSignal }): Promise<{ file: string; details?: Record<string, unknown> } | { skipped: string }>;
}

export interface RecordingArtifactsOptions {
  database: Database;
  objectStore: ObjectStore;
  makers: readonly ArtifactMaker[];
  retryWindowMs: number;
  /** How long one artifact may take to make and store before it is given up as failed. */
  timeoutMs?: number;
  logger: Logger;
}

export interface ArtifactOutcome {
  name: string;
  /** `skipped`: the maker made none for this recording, and its row is gone. */
  status: RecordingArtifactStatus | 'skipped';
  /** Make + upload time. */
  ms: number;
  error?: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * The artifacts of every interview: a `pending` row per maker is written before the interview's
 * URLs are stored (`expect`), and made and stored after (`makePending`), so end → URLs never
 * waits for them. A restart in between finds the rows pending and the recording still on disk (it
 * is removed only after): the next start makes them (`pendingInterviews`). Nothing here throws
 * into a delivery: an artifact that cannot be made is `failed`, with its error, and the interview
 * stays completed without it.
 */
export class RecordingArtifacts {
  readonly #options: RecordingArtifactsOptions;

  constructor(options: RecordingArtifactsOptions) {
    this.#options = options;
  }

  get makers(): readonly ArtifactMaker[] {
    return this.#options.makers;
  }

  /** Before the interview's URLs are stored: a pending row per maker (an existing row is kept). */
  async expect(interviewId: string): Promise<void> {
    if (this.#options.makers.length === 0) return;
    const em = this.#options.database.em();
    const existing = await em.find(RecordingArtifact, { interviewId });
    for (const maker of this.#options.makers) {
      if (existing.some((row) => row.name === maker.name)) continue;
      em.persist(new RecordingArtifact(interviewId, maker.name, maker.fileName, maker.contentType));
    }
    await em.flush();
  }

  /** Completed interviews with artifacts still pending (a restart between the URLs and the artifacts). */
  async pendingInterviews(): Promise<string[]> {
    const em = this.#options.database.em();
    const rows = await em.find(RecordingArtifact, { status: RecordingArtifactStatus.Pending });
    const ids = [...new Set(rows.map((row) => row.interviewId))];
    if (ids.length === 0) return [];
    const completed = await em.find(Interview, { id: { $in: ids }, status: InterviewStatus.Completed });
    return completed.map((interview) => interview.id);
  }

  /** The interview's artifact rows (stored, failed or pending). */
  async rowsOf(interviewId: string): Promise<RecordingArtifact[]> {
    return this.#options.database.em().find(RecordingArtifact, { interviewId }, { orderBy: { name: 'asc' } });
  }

  /**
   * Makes and stores each pending artifact of the interview from `directory`. Never throws. An
   * abort (shutdown) leaves what it interrupted pending, for the next start.
   */
  async makePending(interviewId: string, directory: string, signal?: AbortSignal): Promise<ArtifactOutcome[]> {
    const outcomes: ArtifactOutcome[] = [];
    let rows: RecordingArtifact[];
    try {
      rows = (await this.rowsOf(interviewId)).filter((row) => row.status === RecordingArtifactStatus.Pending);
    } catch (error) {
      this.#options.logger.warn({ err: error, interviewId }, 'could not read the recording artifacts; they stay pending');
      return outcomes;
    }
    for (const row of rows) {
      if (signal?.aborted) break;
      outcomes.push(await this.#makeOne(row, directory, signal));
    }
    return outcomes;
  }

  async #makeOne(row: RecordingArtifact, directory: string, shutdown: AbortSignal | undefined): Promise<ArtifactOutcome> {
    const { objectStore, logger } = this.#options;
    const log = logger.child({ interviewId: row.interviewId, artifact: row.name });
    const startedAt = Date.now();
    const maker = this.#options.makers.find((candidate) => candidate.name === row.name);
    const workDir = path.join(directory, `.artifact-${row.name}`);
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = shutdown ? AbortSignal.any([shutdown, timeout]) : timeout;
    try {
      if (!maker) throw new Error(`no maker for the artifact ${row.name}`);
      await fs.rm(workDir, { recursive: true, force: true });
      await fs.mkdir(workDir, { recursive: true });
      const made = await maker.make({ interviewId: row.interviewId, directory, workDir, signal });
      signal.throwIfAborted();
      if ('skipped' in made) {
        await this.#options.database.em().nativeDelete(RecordingArtifact, { id: row.id });
        log.info({ reason: made.skipped }, 'recording artifact not made for this recording');
        return { name: row.name, status: 'skipped', ms: Date.now() - startedAt };
      }
      const { sizeBytes } = await putFile(
        { client: objectStore.client, bucket: objectStore.bucket },
        {
          file: made.file,
          key: row.objectKey,
          contentType: row.contentType,
          retryWindowMs: this.#options.retryWindowMs,
          signal,
          onRetry: (error, attempt) => log.warn({ err: error.message, attempt }, 'storing the artifact failed; retrying'),
        },
      );
      const kept = await this.#settle(row, (stored) => {
        stored.sizeBytes = sizeBytes;
        stored.details = made.details ?? null;
        stored.error = null;
        stored.moveTo(RecordingArtifactStatus.Stored);
      });
      if (!kept) {
        // The recordings were deleted while it was made: so is what was just stored.
        await objectStore.client.send(new DeleteObjectCommand({ Bucket: objectStore.bucket, Key: row.objectKey })).catch(() => undefined);
        log.info('the recordings were deleted meanwhile; the artifact is deleted too');
        return { name: row.name, status: RecordingArtifactStatus.Failed, ms: Date.now() - startedAt, error: 'the recordings were deleted' };
      }
      const ms = Date.now() - startedAt;
      log.info({ ms, sizeBytes, ...made.details }, 'recording artifact stored');
      return { name: row.name, status: RecordingArtifactStatus.Stored, ms };
    } catch (error) {
      const ms = Date.now() - startedAt;
      if (shutdown?.aborted) {
        log.info({ ms }, 'recording artifact interrupted by shutdown; it is made at the next start');
        return { name: row.name, status: RecordingArtifactStatus.Pending, ms };
      }
      const message = timeout.aborted ? `not made within ${this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : error instanceof Error ? error.message : String(error);
      log.warn({ err: error, ms }, 'recording artifact could not be made; the interview is complete without it');
      await this.#settle(row, (failed) => {
        failed.error = message.slice(0, 2000);
        failed.moveTo(RecordingArtifactStatus.Failed);
      }).catch((storeError: unknown) => log.warn({ err: storeError }, 'could not store the artifact as failed; it stays pending'));
      return { name: row.name, status: RecordingArtifactStatus.Failed, ms, error: message };
    } finally {
      await fs.rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Applies `change` to the stored row; false when the row is gone (the recordings were deleted). */
  async #settle(row: RecordingArtifact, change: (row: RecordingArtifact) => void): Promise<boolean> {
    const em = this.#options.database.em();
    const stored = await em.findOne(RecordingArtifact, { id: row.id });
    if (!stored) return false;
    change(stored);
    stored.updatedAt = new Date();
    await em.flush();
    return true;
  }
}
