import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import type { PortRange } from '../../recorder-pipeline/ffmpeg/udpPorts.ts';
import { trackNames, type TrackName } from '../../recorder-pipeline/tracks.ts';
import type { Database } from '../db/Database.ts';
import type { Interview } from '../db/Interview.ts';
import { ProgressiveDelivery, type DeliveredFile } from '../delivery/ProgressiveDelivery.ts';
import type { ArtifactOutcome, RecordingArtifacts } from '../delivery/RecordingArtifacts.ts';
import { RecordingDelivery } from '../delivery/RecordingDelivery.ts';
import { RecordingFiles, type FileProgress } from '../delivery/RecordingFiles.ts';
import { RecordingJournal } from '../delivery/RecordingJournal.ts';
import { NothingRecordedError, WholeFileDelivery } from '../delivery/WholeFileDelivery.ts';
import { AppError } from '../errors.ts';
import { InterviewStatus, type RecordingFileKind } from '../../shared/vocabulary.ts';
import { recordingObjectKey } from '../db/RecordingFile.ts';
import type { EndCause, InterviewService } from '../lifecycle/InterviewService.ts';
import { endToUrls, recordedBytes, uploadFailures } from '../metrics/counters.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import { RecordingGaps } from './RecordingGaps.ts';
import type { FinalizationClaim } from './FinalizationClaim.ts';
import { DeliveryClaims } from './DeliveryClaims.ts';
import { EndTimer } from './EndTimer.ts';
import { OwnershipHold } from './OwnershipHold.ts';
import { outageOfClosedRoom, wireRecording } from './RecordingWiring.ts';
import { SerialQueue } from './SerialQueue.ts';
import { SessionConnections, type Replaceable } from './SessionConnections.ts';
import type { TimelineEvent, TimelineEventKind } from '../../shared/timeline.ts';
import { InterviewTimeline } from '../timeline/InterviewTimeline.ts';
import type { ReportLimits } from '../timeline/ReportAllowance.ts';
import { uploadTimelineVtt } from '../timeline/timelineFile.ts';
import { PacketLossDetector } from '../timeline/packetLoss.ts';
import { summarizeTimeline } from '../timeline/timelineStore.ts';
import type { SessionOwnership } from './SessionOwnership.ts';
import { InvalidSessionMoveError, SessionState, canMove, stateOfStatus } from './SessionState.ts';

/**
 * An interview goes live (its clock starts) when the first media reaches its recording. If the
 * recording cannot start, the clock starts anyway this long after the candidate's media arrived:
 * a broken recorder must not keep an interview from ever ending.
 */
const LIVE_WITHOUT_RECORDING_MS = 10_000;
/** How often the candidate's uplink loss is sampled from the producers' counters (cheap: one worker request per track). */
const LOSS_SAMPLE_MS = 2000;
/** Why anything that would open media is refused once the interview has ended (signalling says the same). */
export const INTERVIEW_ENDED = 'the interview has ended';

/** What every session of a service shares. */
export interface SessionContext {
  database: Database;
  interviews: InterviewService;
  objectStore: ObjectStore;
  /** Opens a room for the interview on the least-loaded worker. */
  createRoom: (interviewId: string) => Promise<InterviewRoom>;
  /** The interview's recording directory. */
  recordingDirOf: (interviewId: string) => string;
  /** mediasoup's RTC ports, which the recorder's ffmpeg must not pick. */
  rtcPortRange: PortRange;
  partSizeBytes: number;
  retryWindowMs: number;
  publicUrl: string;
  /** Upload while recording (default true); false: everything is uploaded after the end. */
  progressiveUpload: boolean;
  /** Ship the growing segments to the object store this often (RECORDING_JOURNAL_SECONDS); 0: off. */
  journalIntervalMs: number;
  webhooks?: import('../webhooks/WebhookOutbox.ts').WebhookOutbox | undefined;
  /** Which node acts for an interview (cluster mode: its lease); unset: this one, always. */
  ownership?: SessionOwnership | undefined;
  /** The name this node claims finalizations under in the database (NODE_ID; one fixed name on a single node). */
  nodeId: string;
  /** How long a finalization claim holds without renewal (FINALIZATION_CLAIM_TTL_MS unless a test shortens it). */
  finalizationClaimMs?: number | undefined;
  /** Timeline kinds that send `interview.flagged` (FLAG_EVENTS). */
  flagEvents?: ReadonlySet<TimelineEventKind> | undefined;
  /** What a candidate page may report (default ~10/s, burst 50, 2,000 per interview). */
  reportLimits?: ReportLimits | undefined;
  /** Files made from the recording once its URLs are stored (the filmstrip); unset: none. */
  artifacts?: RecordingArtifacts | undefined;
  logger: Logger;
}

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
 * Its parts live in files of their own: who is connected (SessionConnections), the recording's
 * wiring (RecordingWiring), cluster ownership (OwnershipHold), the end timer (EndTimer) and the
 * finalization claims (DeliveryClaims).
 *
 * What happens when the interview ends is `#finish()`, below.
 */
export class InterviewSession extends EventEmitter<InterviewSessionEvents> {
  readonly interviewId: string;
  readonly #context: SessionContext;
  readonly #logger: Logger;
  readonly #queue = new SerialQueue(() => this.#emitIfUnused());
  readonly #gaps: RecordingGaps;
  readonly #packetLoss = new PacketLossDetector();
  /** The interview's event log (its own part; written from signalling, the recording and the lifecycle). */
  readonly timeline: InterviewTimeline;
  readonly #files: RecordingFiles;
  readonly #delivery: RecordingDelivery;
  readonly #progressive: ProgressiveDelivery | undefined;
  /** The recording's copy in the object store while it is recorded (cluster mode; off by default). */
  readonly #journal: RecordingJournal | undefined;
  readonly #loaded: Promise<void>;
  #state: SessionState = SessionState.Idle;
  #room: InterviewRoom | undefined;
  #roomOpening: Promise<InterviewRoom> | undefined;
  #recording: InterviewRecording | undefined;
  /** The room the recording reads from: a recording lives on its room's router. */
  #recordingRoom: InterviewRoom | undefined;
  /** This process has recorded the interview: any later outage has a known start. */
  #recordedHere = false;
  /** When the candidate's last producer closed (the tab went away), until one comes back. */
  #candidateLeftAt: Date | undefined;
  #liveFallback: NodeJS.Timeout | undefined;
  readonly #endTimer: EndTimer;
  #delivering: Promise<void> | undefined;
  readonly #connections: SessionConnections;
  readonly #ownership: OwnershipHold;
  /** This node's claims on the interview's finalization, from its end (or takeover) until its outcome is stored. */
  readonly #claims: DeliveryClaims;
  /** Artifacts being made after the URLs were stored (a delivery's tail, or resumed after a restart). */
  #makingArtifacts: Promise<void> | undefined;
  readonly #artifactsAbort = new AbortController();
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
    this.timeline = new InterviewTimeline({
      interviewId,
      database: context.database,
      recordingDir: context.recordingDirOf(interviewId),
      logger: this.#logger.child({ component: 'timeline' }),
      webhooks: context.webhooks,
      flagKinds: context.flagEvents,
      limits: context.reportLimits,
    });
    this.#gaps = new RecordingGaps({
      interviewId,
      database: context.database,
      webhooks: context.webhooks,
      logger: this.#logger,
      onGap: (gap) => void this.timeline.record('recording_gap', { cause: gap.cause, seconds: Math.round((gap.end.getTime() - gap.start.getTime()) / 100) / 10, end: gap.end.toISOString() }, gap.start),
    });
    this.#files = new RecordingFiles(context.database, interviewId);
    const directory = context.recordingDirOf(interviewId);
    const shared = { files: this.#files, objectStore: context.objectStore, directory, partSizeBytes: context.partSizeBytes, retryWindowMs: context.retryWindowMs };
    if (context.progressiveUpload) {
      this.#progressive = new ProgressiveDelivery({ ...shared, logger: this.#logger.child({ component: 'progressive-upload' }) });
      this.#progressive.on('delivered', (file) => this.emit('delivered', file));
    }
    if (context.journalIntervalMs > 0) {
      this.#journal = new RecordingJournal({ objectStore: context.objectStore, interviewId, directory, intervalMs: context.journalIntervalMs, logger: this.#logger.child({ component: 'journal' }) });
    }
    const wholeFile = new WholeFileDelivery({ ...shared, logger: this.#logger.child({ component: 'finalizer' }) });
    this.#delivery = new RecordingDelivery(this.#files, this.#progressive ? [this.#progressive, wholeFile] : [wholeFile], this.#logger.child({ component: 'finalizer' }));
    this.#loaded = this.#queue.run(async () => {
      const interview = await context.interviews.find(interviewId);
      if (interview) this.#state = stateOfStatus(interview.status);
    });
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
    return this.#room && !this.#room.closed ? this.#room : undefined;
  }

  get recordingDir(): string {
    return this.#context.recordingDirOf(this.interviewId);
  }

  /** The running recording, if any (tests and fault tooling read its pids). */
  get recording(): InterviewRecording | undefined {
    return this.#recording && !this.#recording.stopped ? this.#recording : undefined;
  }

  /** The progressive strategy, when progressive upload is on (tests, bench). */
  get progressive(): ProgressiveDelivery | undefined {
    return this.#progressive;
  }

  /** Live upload progress; undefined when no delivery runs. */
  get liveProgress(): FileProgress[] | undefined {
    return this.#delivery.progress;
  }

  /** Waits for a delivery in progress (graceful shutdown, tests). */
  async idle(): Promise<void> {
    await this.#delivering?.catch(() => undefined);
    await this.#makingArtifacts;
  }

  /** Nothing of this session is in use: no room, recording, timer, delivery or connection. */
  get unused(): boolean {
    return (
      !this.#room &&
      !this.#roomOpening &&
      !this.#recording &&
      !this.#endTimer.armed &&
      !this.#delivering &&
      !this.#makingArtifacts &&
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
    if (timeline.rejoined && !this.#ended) void this.timeline.record('candidate_reconnected', { replacedTab: replaced !== undefined });
    return replaced;
  }

  candidateLeft(connection: Replaceable): void {
    if (this.#connections.candidateLeft(connection) && !this.#ended && !this.#closed) void this.timeline.record('candidate_disconnected');
  }

  // ---------------------------------------------------------------- room

  /** The interview has ended (as stored when the session was made, or since): no room opens for it again. */
  get #ended(): boolean {
    return this.#state === SessionState.Ending || this.#state === SessionState.Finalizing || this.#state === SessionState.Done;
  }

  /** The interview's room, opened if needed; concurrent callers share one. Refused once the interview has ended. */
  async openRoom(): Promise<InterviewRoom> {
    if (this.#closed) throw new AppError('unavailable', 'the service is shutting down');
    if (this.#ended) throw new AppError('conflict', INTERVIEW_ENDED);
    if (this.#room && !this.#room.closed) return this.#room;
    // A new session learns the stored status first (if the database fails there, the room opens all the same).
    this.#roomOpening ??= this.#loaded
      .catch(() => undefined)
      .then(() => {
        if (this.#ended) throw new AppError('conflict', INTERVIEW_ENDED);
        return this.#context.createRoom(this.interviewId);
      })
      .then((room) => {
        if (this.#closed) {
          room.close('shutdown');
          throw new AppError('unavailable', 'the service is shutting down');
        }
        // Ended while the room was being made: it would record nothing, and nothing would close it.
        if (this.#ended) {
          room.close('ended');
          throw new AppError('conflict', INTERVIEW_ENDED);
        }
        this.#adoptRoom(room);
        return room;
      })
      .finally(() => {
        this.#roomOpening = undefined;
      });
    return this.#roomOpening;
  }

  #adoptRoom(room: InterviewRoom): void {
    this.#room = room;
    this.#candidateLeftAt = undefined;
    room.on('producer', (track, producer) => {
      this.#candidateLeftAt = undefined;
      void this.#queue.run(() => this.#record(room, track, producer));
    });
    room.on('producerClosed', () => {
      // An empty room idles out only later; what is missing starts here, not then.
      if (!room.closed && room.tracks.length === 0) this.#candidateLeftAt ??= new Date();
    });
    room.on('flowing', () => {
      clearTimeout(this.#liveFallback);
      this.#liveFallback = setTimeout(() => {
        this.#logger.warn('no media reached the recording; the interview goes live without it');
        const at = new Date();
        void this.#queue.run(() => this.#goLive(at));
      }, LIVE_WITHOUT_RECORDING_MS);
      this.#liveFallback.unref();
    });
    const lossSampler = setInterval(() => void this.#sampleLoss(room), LOSS_SAMPLE_MS);
    lossSampler.unref();
    room.once('closed', (reason) => {
      clearInterval(lossSampler);
      clearTimeout(this.#liveFallback);
      if (this.#room === room) this.#room = undefined;
      // A recording on this room's router stops with it; the next room's recording closes the gap.
      const outage = this.#recordedHere && !this.#gaps.hasPending ? outageOfClosedRoom(reason, this.#candidateLeftAt) : undefined;
      if (outage) this.#gaps.open(outage.start, outage.cause);
      this.#emitIfUnused();
    });
    this.emit('room', room);
    for (const track of trackNames) {
      const producer = room.getProducer(track);
      if (producer) void this.#queue.run(() => this.#record(room, track, producer));
    }
  }

  /** The candidate's uplink loss over the last sample (all tracks' producers); the timeline gets its lasting changes. */
  async #sampleLoss(room: InterviewRoom): Promise<void> {
    if (room.closed || this.#ended) return;
    let lost = 0;
    let received = 0;
    for (const track of trackNames) {
      const producer = room.getProducer(track);
      if (!producer || producer.closed) continue;
      for (const stat of await producer.getStats().catch(() => [])) {
        lost += stat.packetsLost;
        received += stat.packetCount;
      }
    }
    const decided = this.#packetLoss.sample(lost, received);
    if (decided) void this.timeline.record(decided.change === 'high' ? 'packet_loss_high' : 'packet_loss_recovered', { percent: Math.round(decided.loss * 1000) / 10 });
  }

  // ---------------------------------------------------------------- recording

  /** Queued: records the producer (the room's recording is made on its first producer). */
  async #record(room: InterviewRoom, track: TrackName, producer: types.Producer): Promise<void> {
    if (this.#closed || this.#state === SessionState.Ending || this.#state === SessionState.Finalizing || this.#state === SessionState.Done) return;
    if (room.closed || producer.closed) return;
    try {
      const recording = await this.#recordingFor(room);
      if (room.closed || producer.closed || recording.stopped) return;
      // Not awaited on the queue: the last track starts ffmpeg, which retries until it runs or
      // the recording stops, and the end must be able to stop it.
      recording.attachProducer(track, producer).catch((error: unknown) => this.#logger.error({ err: error, track }, 'could not record a producer'));
    } catch (error) {
      this.#logger.error({ err: error, track }, 'could not record a producer');
    }
  }

  /** The recording of this room; one made for an earlier room is stopped. */
  async #recordingFor(room: InterviewRoom): Promise<InterviewRecording> {
    if (this.#recording && !this.#recording.stopped && this.#recordingRoom === room) return this.#recording;
    // Normally it stopped with its router; not when the worker died before any track was bound.
    if (this.#recording && !this.#recording.stopped) void this.#recording.stop().catch(() => undefined);
    this.#recording = undefined;
    const outputDir = this.recordingDir;
    // The first recording of this process for an interview that already has segments: the
    // service was down (crash or deploy) since the last bytes it wrote.
    if (!this.#recordedHere) {
      // Segments this disk lacks (it was lost, or another node recorded them) come back first.
      await this.#journal?.restore();
      await this.#gaps.openFromDisk(outputDir);
      this.#progressive?.followFirstSegment();
    }
    this.#recordedHere = true;
    const recording = await InterviewRecording.create({
      router: room.router,
      outputDir,
      logger: this.#logger.child({ component: 'recording' }),
      rtcPortRange: this.#context.rtcPortRange,
    });
    this.#recording = recording;
    this.#recordingRoom = room;
    await this.#files.rows();
    wireRecording(recording, {
      progressive: this.#progressive,
      journal: this.#journal,
      gaps: this.#gaps,
      enqueue: (task) => void this.#queue.run(task),
      segmentFlowing: (index, at) => this.timeline.segmentFlowing(index, at),
      screenSize: (width, height) => this.timeline.observeScreenSize(width, height),
      flowing: (flowingAt) => {
        clearTimeout(this.#liveFallback);
        void this.#queue.run(async () => {
          await this.#goLive(flowingAt);
          await this.#gaps.close(flowingAt);
        });
      },
      stopped: () => {
        if (this.#recording === recording) this.#recording = undefined;
        this.#emitIfUnused();
      },
    });
    return recording;
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
      void this.timeline.record('interview_live', {}, at);
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
    clearTimeout(this.#liveFallback);
    const recording = this.#recording;
    this.#recording = undefined;
    this.#room?.close('moved');
    await Promise.allSettled([recording?.stop(), this.#progressive?.close()]);
    await this.#journal?.flush();
    // Should it come back here, what the other node recorded meanwhile is restored first.
    this.#recordedHere = false;
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
    const undoCut = this.#state === SessionState.Idle || this.#state === SessionState.Live ? this.#recording?.cutNow() : undefined;
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
    clearTimeout(this.#liveFallback);
    const stopping = this.#recording?.stop();
    this.timeline.closeForReports();
    if (endedHere) void this.timeline.record('interview_ended', { cause }, endedAt);
    this.emit('ended', interview, cause);
    this.#room?.close('ended');
    return endedHere ? () => this.#finished(endedAt, stopping) : () => this.#stoppedAfterEndElsewhere(stopping);
  }

  /**
   * Another node stored the end (and holds the finalization claim): what this node recorded is
   * flushed to the journal, where the finalizer reads it; the gaps are that node's to close. The
   * delivery here only runs if that node's claim runs out.
   */
  async #stoppedAfterEndElsewhere(stopping: Promise<void> | undefined): Promise<void> {
    await stopping?.catch((error: unknown) => this.#logger.error({ err: error }, 'stopping the recording failed'));
    await this.#journal?.flush();
    if (!this.#closed) void this.deliver();
  }

  /** Steps 5–7 of the end, on the queue right after the end was stored. */
  async #finished(endedAt: Date, stopping: Promise<void> | undefined): Promise<void> {
    try {
      await stopping;
    } catch (error) {
      this.#logger.error({ err: error }, 'stopping the recording failed; finalizing what is on disk');
    }
    await this.#journal?.flush();
    // The interview's time ran out while the service was down, or the media never came back.
    if (!this.#recordedHere) {
      await this.#journal?.restore();
      await this.#gaps.openFromDisk(this.recordingDir);
    }
    this.#recordedHere = true;
    await this.#gaps.close(endedAt);
    if (!this.#closed) void this.deliver();
  }

  /** retry-upload: a failed interview is finalized and delivered again. */
  async retry(): Promise<Interview> {
    await this.#loaded;
    const interview = await this.#context.interviews.get(this.interviewId);
    if (interview.status !== InterviewStatus.Failed || !(await this.#context.interviews.reopenFailed(this.interviewId))) {
      throw new AppError('conflict', `only a failed interview can be retried; this one is ${interview.status === InterviewStatus.Failed ? 'being retried already' : interview.status}`);
    }
    void this.deliver();
    return this.#context.interviews.get(this.interviewId);
  }

  /**
   * The automatic retry of a failed interview whose retry is due (FailedDeliveryRetries): it goes
   * back to finalizing under this node's claim, taken in the same compare-and-set, and is delivered
   * again. False: not due, already taken by another node (or a retry-upload), a delivery still runs
   * here, or this node is shutting down.
   */
  async retryWhenDue(): Promise<boolean> {
    // Held so that the session is not let go between the check and the delivery it starts.
    const release = this.holdConnection();
    try {
      await this.#loaded;
      if (this.#closed || this.#delivering) return false;
      if (!(await this.#context.interviews.reopenDueRetry(this.interviewId, this.#claims.terms))) return false;
      this.#claims.heldWithRetry();
      void this.deliver();
      return true;
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
    // Never rejects: a delivery that could not even record its outcome (the database down) leaves
    // the interview finalizing, and the next start (or a retry) delivers it again.
    this.#delivering ??= this.#deliver()
      .catch((error: unknown) => this.#logger.error({ err: error }, 'delivering the recording failed before its outcome was stored'))
      .finally(() => {
        this.#delivering = undefined;
        this.#emitIfUnused();
      });
    return this.#delivering;
  }

  async #deliver(): Promise<void> {
    const interviews = this.#context.interviews;
    const log = this.#logger.child({ component: 'finalizer' });
    // A failed interview (a start resuming it) goes back to finalizing first.
    await interviews.reopenFailed(this.interviewId);
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
    if (this.#state !== SessionState.Finalizing) this.#moveTo(SessionState.Finalizing);
    // A node delivering what another one recorded (or this one before its disk was lost).
    await this.#journal?.restore();
    let urls: { screenVideo: string; candidateVideo: string; timelineVtt?: string } | undefined;
    let deliveredBytes = 0;
    let events: TimelineEvent[] | undefined;
    try {
      const files = await this.#delivery.deliver((progress) => this.emit('progress', progress));
      deliveredBytes = files.reduce((sum, file) => sum + file.sizeBytes, 0);
      const urlOf = (kind: RecordingFileKind) => this.#context.objectStore.publicUrlFor(recordingObjectKey(this.interviewId, kind), this.#context.publicUrl);
      urls = { screenVideo: urlOf('screen'), candidateVideo: urlOf('candidate') };
      // The timeline's media times from the finalized segments, then its WebVTT beside the recordings.
      events = await this.timeline.recomputeMediaTimes();
      const vttKey = await uploadTimelineVtt(this.#context.objectStore, this.interviewId, events);
      urls.timelineVtt = this.#context.objectStore.publicUrlFor(vttKey, this.#context.publicUrl);
    } catch (error) {
      if (!(error instanceof NothingRecordedError)) {
        const reason = error instanceof Error ? error.message : String(error);
        log.error({ err: error }, 'finalizing the interview failed');
        const failed = await interviews.fail(this.interviewId, reason, claim.node);
        this.#moveTo(SessionState.Done);
        if (!failed) return log.warn('the finalization claim ran out and another node took the delivery over; its outcome is stored there');
        // Interviews that became failed: a retry that fails again is not one more.
        if (failed.failedDeliveries === 1) uploadFailures.inc();
        if (failed.nextRetryAt) log.info({ nextRetryAt: failed.nextRetryAt.toISOString(), failedDeliveries: failed.failedDeliveries }, 'the delivery will be retried automatically');
        else log.warn({ failedDeliveries: failed.failedDeliveries }, 'no automatic retry is due; the recordings stay on the server for retry-upload or the next start');
        this.emit('failed', failed);
        return;
      }
      // Ended before any media reached a file: nothing to deliver, and nothing to retry.
      log.warn('interview ended without any recorded media');
    }
    events ??= await this.timeline.recomputeMediaTimes().catch((error: unknown) => {
      log.warn({ err: error }, 'could not read the timeline for its summary');
      return [];
    });
    const summary = summarizeTimeline(events);
    // The artifacts (filmstrip) are made after the URLs are stored; their rows go in first, so a
    // restart in between still makes them. Never a reason not to complete.
    if (urls) await this.#context.artifacts?.expect(this.interviewId).catch((error: unknown) => log.warn({ err: error }, 'could not note the recording artifacts; the interview completes without them'));
    const completed = await interviews.complete(this.interviewId, urls, claim.node, summary);
    if (!completed) {
      this.#moveTo(SessionState.Done);
      log.warn('the finalization claim ran out and another node took the delivery over; its outcome is stored there');
      return;
    }
    if (completed.completedAt) endToUrls.observe((Date.now() - completed.completedAt.getTime()) / 1000);
    recordedBytes.inc(deliveredBytes);
    await this.#journal?.discard().catch((error: unknown) => log.warn({ err: error }, 'could not delete the recording journal'));
    log.info('interview completed');
    this.#moveTo(SessionState.Done);
    this.emit('completed', completed);
    // Local files go only after the artifacts are made from them (both objects are stored and verified).
    if (urls) this.makeArtifacts();
    else await fs.rm(this.recordingDir, { recursive: true, force: true });
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
        const outcomes = await this.#context.artifacts.makePending(this.interviewId, this.recordingDir, this.#artifactsAbort.signal);
        // Shutdown interrupted them: the recording stays on disk for the next start.
        if (this.#artifactsAbort.signal.aborted || outcomes.some((outcome) => outcome.status === 'pending')) return;
        if (outcomes.length > 0) this.emit('artifacts', outcomes);
      }
      await fs.rm(this.recordingDir, { recursive: true, force: true }).catch((error: unknown) => log.warn({ err: error }, 'could not remove the local recording'));
    })()
      .catch((error: unknown) => this.#logger.error({ err: error }, 'making the recording artifacts failed'))
      .finally(() => {
        this.#makingArtifacts = undefined;
        this.#emitIfUnused();
      });
    return this.#makingArtifacts;
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
    this.#artifactsAbort.abort();
    this.#endTimer.cancel();
    clearTimeout(this.#liveFallback);
    const recording = this.#recording;
    this.#recording = undefined;
    await Promise.allSettled([recording?.stop(), this.#progressive?.close()]);
    await this.#journal?.flush();
  }

  /** Shutdown, last step: the room closes. Idempotent. */
  close(): void {
    this.#closed = true;
    // Not renewed past this process: another node may take the delivery up once it runs out.
    this.#claims.releaseHeld();
    void this.timeline.flushDropped().finally(() => this.timeline.close());
    this.#endTimer.cancel();
    this.#room?.close('shutdown');
  }
}
