import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import { InterviewStatus } from '../../shared/vocabulary.ts';
import type { Interview } from '../db/Interview.ts';
import type { DeliveredFile, ProgressiveDelivery } from '../delivery/ProgressiveDelivery.ts';
import type { ArtifactOutcome } from '../delivery/RecordingArtifacts.ts';
import type { FileProgress } from '../delivery/RecordingFiles.ts';
import type { EndCause, InterviewService } from '../lifecycle/InterviewService.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import type { InterviewTimeline } from '../timeline/InterviewTimeline.ts';
import { DeliveryClaims } from './DeliveryClaims.ts';
import { EndTimer } from './EndTimer.ts';
import { OwnershipHold } from './OwnershipHold.ts';
import { RecordingGaps } from './RecordingGaps.ts';
import { SerialQueue } from './SerialQueue.ts';
import { SessionConnections, type Replaceable } from './SessionConnections.ts';
import type { SessionContext } from './SessionContext.ts';
import { SessionDelivery } from './SessionDelivery.ts';
import { SessionRecorder } from './SessionRecorder.ts';
import { SessionRoom } from './SessionRoom.ts';
import { SessionTimeline } from './SessionTimeline.ts';
import { InvalidSessionMoveError, SessionState, canMove, stateOfStatus } from './SessionState.ts';

export type InterviewSessionEvents = {
  /** A room was opened (again, after a worker died or the room idled out). */
  room: [room: InterviewRoom];
  live: [interview: Interview];
  ended: [interview: Interview, cause: EndCause];
  progress: [files: FileProgress[]];
  delivered: [file: DeliveredFile];
  completed: [interview: Interview];
  failed: [interview: Interview];
  /** Cluster mode: another node took the live interview's lease; its recording here has stopped and its pages should follow. */
  ownershipLost: [];
  /** The artifacts made after the URLs were stored (stored or failed). */
  artifacts: [outcomes: ArtifactOutcome[]];
  /** Nothing of this session is in use any more: the registry may let it go. */
  unused: [];
};

export type { Replaceable } from './SessionConnections.ts';

/**
 * One interview's life on this node, from its room to its delivered files, owned in one place:
 * its room, its recording, its gaps, its timer and its delivery. State changes are the moves of
 * `SessionState`; events for the interview (a producer, media flowing, the end) are handled one
 * at a time, in order, on the session's queue. `end()` and `close()` are idempotent and cascade.
 * Its parts live in files of their own: who is connected (SessionConnections), the room and what
 * it feeds (SessionRoom), the recorder (SessionRecorder, wired by RecordingWiring), the event log's
 * wiring (SessionTimeline), cluster ownership (OwnershipHold), the end timer (EndTimer), the
 * finalization claims (DeliveryClaims) and the recording's way out: uploads, journal, completion,
 * artifacts (SessionDelivery). What stays here: the state table, the queue, and the orchestration
 * of going live, handing over, the end and when to deliver.
 *
 * What happens when the interview ends is `#finish()`, below.
 */
export class InterviewSession extends EventEmitter<InterviewSessionEvents> {
  readonly interviewId: string;
  readonly #context: SessionContext;
  readonly #logger: Logger;
  readonly #queue = new SerialQueue(() => this.#emitIfUnused());
  readonly #gaps: RecordingGaps;
  readonly #timeline: SessionTimeline;
  readonly #room: SessionRoom;
  readonly #recorder: SessionRecorder;
  readonly #delivery: SessionDelivery;
  readonly #loaded: Promise<void>;
  #state: SessionState = SessionState.Idle;
  readonly #endTimer: EndTimer;
  readonly #connections: SessionConnections;
  readonly #ownership: OwnershipHold;
  /** This node's claims on the interview's finalization, from its end (or takeover) until its outcome is stored. */
  readonly #claims: DeliveryClaims;
  #closed = false;

  constructor(interviewId: string, context: SessionContext) {
    super();
    this.interviewId = interviewId;
    this.#context = context;
    this.#logger = context.logger.child({ interviewId });
    this.#connections = new SessionConnections(() => this.#emitIfUnused());
    this.#endTimer = new EndTimer(() => this.end('timer').catch((error: unknown) => this.#logger.error({ err: error }, 'ending the interview on its timer failed')));
    this.#ownership = new OwnershipHold({
      ownership: context.ownership,
      interviewId,
      onTaken: () => this.#queue.run(() => this.#stopAsNonOwner()),
      unneeded: () => this.#closed || this.#state === SessionState.Done,
    });
    this.#claims = new DeliveryClaims({ interviews: context.interviews, interviewId, nodeId: context.nodeId, ttlMs: context.finalizationClaimMs, logger: this.#logger });
    this.#timeline = new SessionTimeline(interviewId, context, this.#logger.child({ component: 'timeline' }));
    this.#gaps = new RecordingGaps({ interviewId, database: context.database, webhooks: context.webhooks, logger: this.#logger, onGap: (gap) => this.#timeline.gapClosed(gap) });
    this.#delivery = new SessionDelivery({
      interviewId,
      context,
      logger: this.#logger,
      timeline: this.#timeline,
      claims: this.#claims,
      events: this,
      moves: {
        finalizing: () => {
          if (this.#state !== SessionState.Finalizing) this.#moveTo(SessionState.Finalizing);
        },
        done: () => this.#moveTo(SessionState.Done),
        released: () => this.#emitIfUnused(),
      },
    });
    this.#loaded = this.#queue.run(async () => {
      const interview = await context.interviews.find(interviewId);
      if (interview) this.#state = stateOfStatus(interview.status);
    });
    const enqueue = (task: () => Promise<void>) => void this.#queue.run(task);
    this.#recorder = new SessionRecorder({
      recordingDir: this.recordingDir,
      rtcPortRange: context.rtcPortRange,
      logger: this.#logger,
      delivery: this.#delivery,
      gaps: this.#gaps,
      timeline: this.#timeline,
      enqueue,
      flowing: (flowingAt) => {
        this.#room.cancelLiveFallback();
        enqueue(async () => {
          await this.#goLive(flowingAt);
          await this.#gaps.close(flowingAt);
        });
      },
      released: () => this.#emitIfUnused(),
    });
    this.#room = new SessionRoom({
      interviewId,
      createRoom: context.createRoom,
      loaded: this.#loaded,
      logger: this.#logger,
      recorder: this.#recorder,
      gaps: this.#gaps,
      timeline: this.#timeline,
      closed: () => this.#closed,
      ended: () => this.#ended,
      enqueue,
      liveWithoutRecording: (at) => enqueue(() => this.#goLive(at)),
      opened: (room) => this.emit('room', room),
      released: () => this.#emitIfUnused(),
    });
  }

  /** The interview's event log (its own part; written from signalling, the recording and the lifecycle). */
  get timeline(): InterviewTimeline {
    return this.#timeline.log;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** This node is shutting down (its recording stopped for the next start): pages leaving now are not news for the timeline. */
  get shuttingDown(): boolean {
    return this.#closed;
  }

  /** The open room, if any. */
  get room(): InterviewRoom | undefined {
    return this.#room.current;
  }

  get recordingDir(): string {
    return this.#context.recordingDirOf(this.interviewId);
  }

  /** The running recording, if any (tests and fault tooling read its pids). */
  get recording(): InterviewRecording | undefined {
    return this.#recorder.running;
  }

  /** The progressive strategy, when progressive upload is on (tests, bench). */
  get progressive(): ProgressiveDelivery | undefined {
    return this.#delivery.progressive;
  }

  /** Live upload progress; undefined when no delivery runs. */
  get liveProgress(): FileProgress[] | undefined {
    return this.#delivery.progress;
  }

  /** Waits for a delivery in progress (graceful shutdown, tests). */
  async idle(): Promise<void> {
    await this.#delivery.idle();
  }

  /** Nothing of this session is in use: no room, recording, timer, delivery or connection. */
  get unused(): boolean {
    return (
      !this.#room.inUse &&
      !this.#recorder.inUse &&
      !this.#endTimer.armed &&
      !this.#delivery.inUse &&
      !this.#connections.inUse &&
      this.#queue.idle &&
      this.#state !== SessionState.Live
    );
  }

  // ---------------------------------------------------------------- connections

  /** A page's connection works through this session until `release` is called. */
  holdConnection(): () => void {
    return this.#connections.hold();
  }

  /** Reserves one of the interview's proctor seats; undefined when all are taken. */
  holdProctorSeat(max: number): (() => void) | undefined {
    return this.#connections.holdProctorSeat(max);
  }

  /** The candidate joined from `connection`; returns the connection it replaces (an older tab). */
  candidateJoined(connection: Replaceable, timeline: { rejoined: boolean } = { rejoined: false }): Replaceable | undefined {
    const replaced = this.#connections.candidateJoined(connection);
    // Back during a live interview (a reload, a dropped connection, or a new tab taking over).
    if (timeline.rejoined && !this.#ended) this.#timeline.candidateReconnected(replaced !== undefined);
    return replaced;
  }

  candidateLeft(connection: Replaceable): void {
    if (this.#connections.candidateLeft(connection) && !this.#ended && !this.#closed) this.#timeline.candidateDisconnected();
  }

  // ---------------------------------------------------------------- room

  /** The interview has ended (as stored when the session was made, or since): no room opens for it again. */
  get #ended(): boolean {
    return this.#state === SessionState.Ending || this.#state === SessionState.Finalizing || this.#state === SessionState.Done;
  }

  /** The interview's room, opened if needed; concurrent callers share one. Refused once the interview has ended. */
  openRoom(): Promise<InterviewRoom> {
    return this.#room.open();
  }

  // ---------------------------------------------------------------- lifecycle

  /** Queued: the interview's clock starts at `at`, when its media first reached the recording (a no-op once it is live or over). */
  async #goLive(at: Date): Promise<void> {
    if (this.#state !== SessionState.Idle || this.#closed) return;
    try {
      // Cluster mode: the node going live takes the interview's lease; if another node holds it,
      // that node runs the clock (moving the pages to it is the handover's work).
      if (!(await this.#ownership.claim())) return;
      const interview = await this.#context.interviews.markLive(this.interviewId, at);
      if (interview.endsAt === null || this.#state !== SessionState.Idle) return;
      this.#moveTo(SessionState.Live);
      this.#armTimer(interview.endsAt);
      this.#timeline.live(at);
      this.emit('live', interview);
    } catch (error) {
      this.#logger.error({ err: error }, 'could not mark the interview live');
    }
  }

  /**
   * After a service start, or when this node takes over an interview whose owner died: a live
   * interview gets its timer back; an unfinished delivery resumes.
   */
  async resume(): Promise<void> {
    await this.#loaded;
    const interview = await this.#context.interviews.find(this.interviewId);
    if (!interview) return;
    // A session made here while the interview was still waiting (a proctor's page) and then went
    // live on another node: it is live here too now, which this node is taking over.
    if (this.#state === SessionState.Idle && interview.status === InterviewStatus.Live) this.#moveTo(SessionState.Live);
    const timer = this.#state === SessionState.Live && interview.endsAt;
    const delivery = this.#state === SessionState.Finalizing || (this.#state === SessionState.Done && interview.status === InterviewStatus.Failed);
    // Cluster mode: every node resumes every interview at its start; only the one that gets the
    // lease fires the timer or delivers (one whose owner is up keeps it there).
    if ((timer || delivery) && !(await this.#ownership.claim())) return;
    if (timer && interview.endsAt) this.#armTimer(interview.endsAt);
    else if (delivery) void this.deliver();
  }

  /**
   * Queued: another node owns the live interview now. Two nodes must not record one interview: the
   * room closes (its recording stops with it), the last bytes go to the journal, where the new owner
   * reads them, and the timer is the new owner's. `ownershipLost` then sends the pages there. An
   * interview already ended is not stopped again: its delivery is decided by the finalization claim
   * in the database, not by the lease.
   */
  async #stopAsNonOwner(): Promise<void> {
    if (this.#ownership.held || this.#closed || (this.#state !== SessionState.Live && this.#state !== SessionState.Idle)) return;
    this.#logger.warn('another node owns the interview now; its recording stops here');
    this.#endTimer.cancel();
    this.#room.cancelLiveFallback();
    await this.#recorder.stopHere(() => this.#room.close('moved'));
    // Should it come back here, what the other node recorded meanwhile is restored first.
    this.#recorder.forgetRecordedHere();
    if (this.#state === SessionState.Live) this.#moveTo(SessionState.Idle);
    this.emit('ownershipLost');
  }

  /** Whether this node's end timer is armed (in a cluster only the owner's is: test/cluster). */
  get timerArmed(): boolean {
    return this.#endTimer.armed;
  }

  #armTimer(endsAt: Date): void {
    if (this.#closed) return;
    this.#endTimer.arm(endsAt);
  }

  /**
   * Ends the interview now (its timer, a proctor, the admin API): completedAt is stored, then the
   * end cascades. Ending one that has already ended is a no-op that still records a given score
   * or notes. Concurrent calls are handled in order: only the first ends it.
   */
  end(cause: EndCause, review: { score?: number | undefined; notes?: string | undefined } = {}, askedAt = new Date()): Promise<Interview> {
    // The end is the instant it is asked for (`askedAt`, from the caller when it checked things
    // first): completedAt, and where the files stop, whatever waits in front of storing it (this
    // queue, the database on a busy machine).
    const undoCut = this.#state === SessionState.Idle || this.#state === SessionState.Live ? this.#recorder.cutNow() : undefined;
    return this.#queue.run(async () => {
      let ended: Awaited<ReturnType<InterviewService['end']>>;
      try {
        ended = await this.#context.interviews.end(this.interviewId, review, this.#claims.terms, askedAt);
      } catch (error) {
        undoCut?.();
        throw error;
      }
      const { interview, endedNow } = ended;
      if (endedNow) this.#claims.heldWithEnd();
      // Another node stored the end first (cluster mode, when two nodes end one interview at once):
      // what runs here stops all the same; the delivery goes to whichever node holds the claim.
      const endedElsewhere = !endedNow && (this.#state === SessionState.Idle || this.#state === SessionState.Live) && interview.status === InterviewStatus.Finalizing;
      if (endedElsewhere) this.#logger.warn('another node ended the interview first; stopping here too');
      // The caller has its answer once the end is stored and under way; the rest of #finish runs
      // next on the queue, before any later event of this interview.
      if (endedNow || endedElsewhere) this.#queue.run(this.#finish(interview, cause, endedNow)).catch((error: unknown) => this.#logger.error({ err: error }, 'finishing the interview failed'));
      else undoCut?.();
      return interview;
    });
  }

  /**
   * What happens when the interview ends, in order (on the queue, after `completedAt` is stored):
   * 1. the timer and the live fallback are cancelled;
   * 2. ffmpeg is told to stop (nothing after completedAt reaches the files);
   * 3. the pages are told (`ended`: signalling notifies them and stops their media);
   * 4. the room closes; 5. the recording's stop is awaited (its files get trailers);
   * 6. an outage that lasted until the end becomes a gap up to completedAt;
   * 7. the files are delivered (`deliver()`, not awaited here): progressive first, then whole-file;
   *    the URLs are stored and the interview completes, or fails with the reason.
   * Steps 1–4 happen at once; it returns steps 5–7, for the queue.
   */
  #finish(interview: Interview, cause: EndCause, endedHere = true): () => Promise<void> {
    const endedAt = interview.completedAt ?? new Date();
    this.#moveTo(SessionState.Ending);
    this.#endTimer.cancel();
    this.#room.cancelLiveFallback();
    const stopping = this.#recorder.stop();
    this.#timeline.ended(cause, endedAt, endedHere);
    this.emit('ended', interview, cause);
    this.#room.close('ended');
    return () => this.#finished(endedAt, stopping, endedHere);
  }

  /**
   * Steps 5–7 of the end, on the queue right after the end was stored. When another node stored it
   * (and holds the finalization claim), what this node recorded is flushed to the journal, where
   * that node's finalizer reads it; the gaps are that node's to close, and the delivery here only
   * runs if that node's claim runs out.
   */
  async #finished(endedAt: Date, stopping: Promise<void> | undefined, endedHere: boolean): Promise<void> {
    try {
      await stopping;
    } catch (error) {
      this.#logger.error({ err: error }, endedHere ? 'stopping the recording failed; finalizing what is on disk' : 'stopping the recording failed');
    }
    await this.#delivery.journal?.flush();
    if (endedHere) {
      // The interview's time ran out while the service was down, or the media never came back.
      await this.#recorder.pickUpEarlierRuns({ followFirstSegment: false });
      await this.#gaps.close(endedAt);
    }
    if (!this.#closed) void this.deliver();
  }

  /** retry-upload: a failed interview is finalized and delivered again. */
  async retry(): Promise<Interview> {
    await this.#loaded;
    return this.#delivery.retry();
  }

  /**
   * The automatic retry of a failed interview whose retry is due (FailedDeliveryRetries). False:
   * not due, already taken by another node (or a retry-upload), a delivery still runs here, or
   * this node is shutting down.
   */
  async retryWhenDue(): Promise<boolean> {
    // Held so that the session is not let go between the check and the delivery it starts.
    const release = this.holdConnection();
    try {
      await this.#loaded;
      return !this.#closed && (await this.#delivery.retryWhenDue());
    } finally {
      release();
    }
  }

  /**
   * Cluster mode: another node ended the interview and stopped finalizing it (it died). A session
   * here that still thinks it live (a proctor's, on a node that did not record) stops first.
   */
  async takeOverDelivery(): Promise<void> {
    await this.#loaded;
    const interview = await this.#context.interviews.find(this.interviewId);
    if (!interview || interview.status !== InterviewStatus.Finalizing || this.#closed) return;
    if (this.#state === SessionState.Idle || this.#state === SessionState.Live) {
      await this.#queue.run(this.#finish(interview, 'timer', false));
      return;
    }
    if (this.#state !== SessionState.Ending) await this.deliver();
  }

  /**
   * Delivers the recording and completes the interview (or fails it with the reason). Also the
   * retry of a failed one, and the resumption after a restart. Concurrent calls share one run.
   */
  deliver(): Promise<void> {
    return this.#delivery.deliver();
  }

  /**
   * Makes the completed interview's pending artifacts from the files on disk, then removes the
   * local recording (at a start, for an interview completed just before a restart). Never rejects.
   */
  makeArtifacts(): Promise<void> {
    return this.#delivery.makeArtifacts();
  }

  #moveTo(next: SessionState): void {
    if (!canMove(this.#state, next)) throw new InvalidSessionMoveError(this.#state, next);
    this.#state = next;
    // Done here (completed or failed): the interview's lease goes at once, not after its TTL.
    if (next === SessionState.Done) this.#ownership.release();
  }

  #emitIfUnused(): void {
    // After the current task: a move in progress may still add work.
    queueMicrotask(() => {
      if (this.unused) this.emit('unused');
    });
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Shutdown, first step: stops the recording gracefully, leaving its segments on disk for the next
   * start; the interview stays live (its timer is re-armed then). Deliveries are not awaited.
   */
  async stopRecording(): Promise<void> {
    this.#closed = true;
    // An artifact being made stays pending, with the recording on disk, for the next start.
    this.#delivery.stopMakingArtifacts();
    this.#endTimer.cancel();
    this.#room.cancelLiveFallback();
    await this.#recorder.stopHere();
  }

  /** Shutdown, last step: the room closes. Idempotent. */
  close(): void {
    this.#closed = true;
    // Not renewed past this process: another node may take the delivery up once it runs out.
    this.#claims.releaseHeld();
    this.#timeline.close();
    this.#endTimer.cancel();
    this.#room.close('shutdown');
  }
}
