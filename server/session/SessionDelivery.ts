import type { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import type { TimelineEvent } from '../../shared/timeline.ts';
import { InterviewStatus, type RecordingFileKind } from '../../shared/vocabulary.ts';
import type { Interview } from '../db/Interview.ts';
import { recordingObjectKey } from '../db/RecordingFile.ts';
import { ProgressiveDelivery, type DeliveredFile } from '../delivery/ProgressiveDelivery.ts';
import type { ArtifactOutcome } from '../delivery/RecordingArtifacts.ts';
import { RecordingDelivery } from '../delivery/RecordingDelivery.ts';
import { RecordingFiles, type FileProgress } from '../delivery/RecordingFiles.ts';
import { RecordingJournal } from '../delivery/RecordingJournal.ts';
import { NothingRecordedError, WholeFileDelivery } from '../delivery/WholeFileDelivery.ts';
import { AppError } from '../errors.ts';
import { endToUrls, recordedBytes, uploadFailures } from '../metrics/counters.ts';
import type { DeliveryClaims } from './DeliveryClaims.ts';
import type { FinalizationClaim } from './FinalizationClaim.ts';
import type { SessionContext } from './SessionContext.ts';
import type { SessionTimeline } from './SessionTimeline.ts';

export type SessionDeliveryEvents = {
  progress: [files: FileProgress[]];
  /** A file is stored in the object store (progressive upload). */
  delivered: [file: DeliveredFile];
  completed: [interview: Interview];
  failed: [interview: Interview];
  /** The artifacts made after the URLs were stored (stored or failed). */
  artifacts: [outcomes: ArtifactOutcome[]];
};

/** Where the session's state moves while a delivery runs (the session owns the state table). */
export interface DeliveryMoves {
  /** The delivery starts: the session is finalizing. */
  finalizing: () => void;
  /** The outcome is stored (completed or failed), here or by the node that took the delivery over. */
  done: () => void;
  /** The delivery or the artifacts are over (the session may be unused now). */
  released: () => void;
}

/**
 * The recording's way out of this node: its files' rows, the upload while recording (progressive),
 * the journal, the delivery after the end (progressive first, then whole-file), the interview's
 * completion or failure with the URLs and the timeline's summary, and the artifacts made afterwards.
 * It runs under a finalization claim the session holds; it never decides whether to deliver.
 */
export class SessionDelivery {
  readonly files: RecordingFiles;
  /** The upload while recording, when progressive upload is on. */
  readonly progressive: ProgressiveDelivery | undefined;
  /** The recording's copy in the object store while it is recorded (cluster mode; off by default). */
  readonly journal: RecordingJournal | undefined;
  readonly #interviewId: string;
  readonly #context: SessionContext;
  readonly #logger: Logger;
  readonly #timeline: SessionTimeline;
  readonly #moves: DeliveryMoves;
  /** The session's events (the delivery's are the session's). */
  readonly #events: Pick<EventEmitter<SessionDeliveryEvents>, 'emit'>;
  readonly #delivery: RecordingDelivery;
  /** This node's claims on the interview's finalization: a delivery runs only under one. */
  readonly #claims: DeliveryClaims;
  #delivering: Promise<void> | undefined;
  /** Artifacts being made after the URLs were stored (a delivery's tail, or resumed after a restart). */
  #makingArtifacts: Promise<void> | undefined;
  readonly #artifactsAbort = new AbortController();

  constructor(options: { interviewId: string; context: SessionContext; logger: Logger; timeline: SessionTimeline; claims: DeliveryClaims; moves: DeliveryMoves; events: Pick<EventEmitter<SessionDeliveryEvents>, 'emit'> }) {
    const { interviewId, context, logger } = options;
    this.#interviewId = interviewId;
    this.#context = context;
    this.#logger = logger;
    this.#timeline = options.timeline;
    this.#moves = options.moves;
    this.#events = options.events;
    this.#claims = options.claims;
    this.files = new RecordingFiles(context.database, interviewId);
    const directory = context.recordingDirOf(interviewId);
    const shared = { files: this.files, objectStore: context.objectStore, directory, partSizeBytes: context.partSizeBytes, retryWindowMs: context.retryWindowMs };
    if (context.progressiveUpload) {
      this.progressive = new ProgressiveDelivery({ ...shared, logger: logger.child({ component: 'progressive-upload' }) });
      this.progressive.on('delivered', (file) => this.#events.emit('delivered', file));
    }
    if (context.journalIntervalMs > 0) {
      this.journal = new RecordingJournal({ objectStore: context.objectStore, interviewId, directory, intervalMs: context.journalIntervalMs, logger: logger.child({ component: 'journal' }) });
    }
    const wholeFile = new WholeFileDelivery({ ...shared, logger: logger.child({ component: 'finalizer' }) });
    this.#delivery = new RecordingDelivery(this.files, this.progressive ? [this.progressive, wholeFile] : [wholeFile], logger.child({ component: 'finalizer' }));
  }

  /** Live upload progress; undefined when no delivery runs. */
  get progress(): FileProgress[] | undefined {
    return this.#delivery.progress;
  }

  /** A delivery runs. */
  get delivering(): boolean {
    return this.#delivering !== undefined;
  }

  /** A delivery runs, or artifacts are being made. */
  get inUse(): boolean {
    return this.#delivering !== undefined || this.#makingArtifacts !== undefined;
  }

  /** Waits for a delivery in progress and the artifacts it makes. */
  async idle(): Promise<void> {
    await this.#delivering?.catch(() => undefined);
    await this.#makingArtifacts;
  }

  get #recordingDir(): string {
    return this.#context.recordingDirOf(this.#interviewId);
  }

  /** retry-upload: a failed interview goes back to finalizing and is delivered again. */
  async retry(): Promise<Interview> {
    const interviews = this.#context.interviews;
    const interview = await interviews.get(this.#interviewId);
    if (interview.status !== InterviewStatus.Failed || !(await interviews.reopenFailed(this.#interviewId))) {
      throw new AppError('conflict', `only a failed interview can be retried; this one is ${interview.status === InterviewStatus.Failed ? 'being retried already' : interview.status}`);
    }
    void this.deliver();
    return interviews.get(this.#interviewId);
  }

  /**
   * The automatic retry of a failed interview whose retry is due: it goes back to finalizing under
   * this node's claim, taken in the same compare-and-set, and is delivered again. False: not due,
   * already taken by another node (or a retry-upload), or a delivery still runs here.
   */
  async retryWhenDue(): Promise<boolean> {
    if (this.#delivering) return false;
    if (!(await this.#context.interviews.reopenDueRetry(this.#interviewId, this.#claims.terms))) return false;
    this.#claims.heldWithRetry();
    void this.deliver();
    return true;
  }

  /**
   * Delivers the recording and completes the interview (or fails it with the reason), under this
   * node's finalization claim. Concurrent calls share one run.
   */
  deliver(): Promise<void> {
    // Never rejects: a delivery that could not even record its outcome (the database down) leaves
    // the interview finalizing, and the next start (or a retry) delivers it again.
    this.#delivering ??= this.#deliver()
      .catch((error: unknown) => this.#logger.error({ err: error }, 'delivering the recording failed before its outcome was stored'))
      .finally(() => {
        this.#delivering = undefined;
        this.#moves.released();
      });
    return this.#delivering;
  }

  async #deliver(): Promise<void> {
    const interviews = this.#context.interviews;
    const log = this.#logger.child({ component: 'finalizer' });
    // A failed interview (a start resuming it) goes back to finalizing first.
    await interviews.reopenFailed(this.#interviewId);
    // The claim the end took, or one taken now: nobody else's, or its holder's ran out (it died).
    const claim = await this.#claims.forDelivery();
    if (!claim) {
      log.info('not finalizing here: the interview is not ended, or another node finalizes it');
      return;
    }
    try {
      await this.#deliverClaimed(claim, log);
    } finally {
      this.#claims.delivered(claim);
    }
  }

  /** The delivery itself, under this node's finalization claim. */
  async #deliverClaimed(claim: FinalizationClaim, log: Logger): Promise<void> {
    const interviews = this.#context.interviews;
    this.#moves.finalizing();
    // A node delivering what another one recorded (or this one before its disk was lost).
    await this.journal?.restore();
    let urls: { screenVideo: string; candidateVideo: string; timelineVtt?: string } | undefined;
    let deliveredBytes = 0;
    let events: TimelineEvent[] | undefined;
    try {
      const files = await this.#delivery.deliver((progress) => this.#events.emit('progress', progress));
      deliveredBytes = files.reduce((sum, file) => sum + file.sizeBytes, 0);
      const urlOf = (kind: RecordingFileKind) => this.#context.objectStore.publicUrlFor(recordingObjectKey(this.#interviewId, kind), this.#context.publicUrl);
      urls = { screenVideo: urlOf('screen'), candidateVideo: urlOf('candidate') };
      // The timeline's media times from the finalized segments, then its WebVTT beside the recordings.
      let vttKey: string;
      ({ events, vttKey } = await this.#timeline.deliver(this.#context.objectStore, this.#context.retryWindowMs, log));
      urls.timelineVtt = this.#context.objectStore.publicUrlFor(vttKey, this.#context.publicUrl);
    } catch (error) {
      if (!(error instanceof NothingRecordedError)) {
        const reason = error instanceof Error ? error.message : String(error);
        log.error({ err: error }, 'finalizing the interview failed');
        const failed = await interviews.fail(this.#interviewId, reason, claim.node);
        this.#moves.done();
        if (!failed) return log.warn('the finalization claim ran out and another node took the delivery over; its outcome is stored there');
        // Interviews that became failed: a retry that fails again is not one more.
        if (failed.failedDeliveries === 1) uploadFailures.inc();
        if (failed.nextRetryAt) log.info({ nextRetryAt: failed.nextRetryAt.toISOString(), failedDeliveries: failed.failedDeliveries }, 'the delivery will be retried automatically');
        else log.warn({ failedDeliveries: failed.failedDeliveries }, 'no automatic retry is due; the recordings stay on the server for retry-upload or the next start');
        this.#events.emit('failed', failed);
        return;
      }
      // Ended before any media reached a file: nothing to deliver, and nothing to retry.
      log.warn('interview ended without any recorded media');
    }
    const summary = await this.#timeline.summary(events, log);
    // The artifacts (filmstrip) are made after the URLs are stored; their rows go in first, so a
    // restart in between still makes them. Never a reason not to complete.
    if (urls) await this.#context.artifacts?.expect(this.#interviewId).catch((error: unknown) => log.warn({ err: error }, 'could not note the recording artifacts; the interview completes without them'));
    const completed = await interviews.complete(this.#interviewId, urls, claim.node, summary);
    if (!completed) {
      this.#moves.done();
      log.warn('the finalization claim ran out and another node took the delivery over; its outcome is stored there');
      return;
    }
    if (completed.completedAt) endToUrls.observe((Date.now() - completed.completedAt.getTime()) / 1000);
    recordedBytes.inc(deliveredBytes);
    await this.journal?.discard().catch((error: unknown) => log.warn({ err: error }, 'could not delete the recording journal'));
    log.info('interview completed');
    this.#moves.done();
    this.#events.emit('completed', completed);
    // Local files go only after the artifacts are made from them (both objects are stored and verified).
    if (urls) this.makeArtifacts();
    else await fs.rm(this.#recordingDir, { recursive: true, force: true });
  }

  /**
   * Makes the completed interview's pending artifacts from the files on disk, then removes the
   * local recording. After the delivery, and at a start for an interview completed just before a
   * restart (its recording is still on disk). Never rejects.
   */
  makeArtifacts(): Promise<void> {
    this.#makingArtifacts ??= (async () => {
      const log = this.#logger.child({ component: 'artifacts' });
      if (this.#context.artifacts) {
        const outcomes = await this.#context.artifacts.makePending(this.#interviewId, this.#recordingDir, this.#artifactsAbort.signal);
        // Shutdown interrupted them: the recording stays on disk for the next start.
        if (this.#artifactsAbort.signal.aborted || outcomes.some((outcome) => outcome.status === 'pending')) return;
        if (outcomes.length > 0) this.#events.emit('artifacts', outcomes);
      }
      await fs.rm(this.#recordingDir, { recursive: true, force: true }).catch((error: unknown) => log.warn({ err: error }, 'could not remove the local recording'));
    })()
      .catch((error: unknown) => this.#logger.error({ err: error }, 'making the recording artifacts failed'))
      .finally(() => {
        this.#makingArtifacts = undefined;
        this.#moves.released();
      });
    return this.#makingArtifacts;
  }

  /** Shutdown: an artifact being made stays pending, with the recording on disk, for the next start. */
  stopMakingArtifacts(): void {
    this.#artifactsAbort.abort();
  }
}
