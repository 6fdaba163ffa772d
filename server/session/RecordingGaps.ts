import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import { listSegments, segmentFile } from '../../recorder-pipeline/segments.ts';
import { recordedFiles } from '../../recorder-pipeline/tracks.ts';
import { GapCause } from '../../shared/vocabulary.ts';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import { recordingGaps } from '../metrics/counters.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';

/** An outage not yet closed: it ends when the next recording's media flows, or at the end. */
interface PendingGap {
  start: Date;
  cause: GapCause;
}

/**
 * The stretches missing from one interview's recording, each with its real start, end and cause,
 * kept on the interview (`gaps`). An outage whose end is not known yet stays pending here.
 * Called from the session's queue only, so writes never interleave.
 */
export class RecordingGaps {
  readonly #interviewId: string;
  readonly #database: Database;
  readonly #webhooks: WebhookOutbox | undefined;
  readonly #logger: Logger;
  readonly #onGap: ((gap: { start: Date; end: Date; cause: GapCause }) => void) | undefined;
  #pending: PendingGap | undefined;

  constructor(options: { interviewId: string; database: Database; webhooks?: WebhookOutbox | undefined; logger: Logger; onGap?: (gap: { start: Date; end: Date; cause: GapCause }) => void }) {
    this.#interviewId = options.interviewId;
    this.#onGap = options.onGap;
    this.#database = options.database;
    this.#webhooks = options.webhooks;
    this.#logger = options.logger;
  }

  get hasPending(): boolean {
    return this.#pending !== undefined;
  }

  /** An outage began at `start`; a pending one is kept (it began earlier). */
  open(start: Date, cause: GapCause): void {
    this.#pending ??= { start, cause };
  }

  /**
   * The service was down since it last wrote this recording (crash, deploy): the gap begins at the
   * last write to the segments on disk, if there are any.
   */
  async openFromDisk(recordingDir: string): Promise<void> {
    if (this.#pending) return;
    const lastWrite = await lastSegmentWrite(recordingDir).catch(() => undefined);
    if (lastWrite) this.open(lastWrite, GapCause.ServiceRestarted);
  }

  /** The pending outage ended at `end` (media flows again, or the interview ended). */
  async close(end = new Date()): Promise<void> {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    await this.add(pending.start, end, pending.cause);
  }

  /** A gap of `gapMs` that ended at `end` (when the recording reported it, not when this runs). */
  addEndingAt(end: Date, gapMs: number, cause: GapCause): Promise<void> {
    return this.add(new Date(end.getTime() - gapMs), end, cause);
  }

  async add(start: Date, end: Date, cause: GapCause): Promise<void> {
    try {
      const em = this.#database.em();
      const interview = await em.findOne(Interview, { id: this.#interviewId });
      if (!interview) return;
      const gap = { start: start.toISOString(), end: end.toISOString(), cause };
      interview.gaps = [...interview.gaps, gap];
      this.#webhooks?.record(em, 'interview.gap', interview, { gap });
      await em.flush();
      this.#webhooks?.poke();
      recordingGaps.inc({ cause });
      this.#onGap?.({ start, end, cause });
      this.#logger.warn({ gap: { start, end, ms: end.getTime() - start.getTime() }, cause }, 'gap in the recording');
    } catch (error) {
      this.#logger.error({ err: error, cause }, 'could not record a gap');
    }
  }
}

/** When anything was last written to the recording's segment files (undefined: none yet). */
async function lastSegmentWrite(outputDir: string): Promise<Date | undefined> {
  let latest: number | undefined;
  for (const segment of await listSegments(outputDir)) {
    for (const file of recordedFiles) {
      const stat = await fs.stat(segmentFile(segment.dir, file)).catch(() => undefined);
      if (stat && stat.size > 0) latest = Math.max(latest ?? 0, stat.mtimeMs);
    }
  }
  return latest === undefined ? undefined : new Date(latest);
}
