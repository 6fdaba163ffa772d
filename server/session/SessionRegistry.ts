import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Interview } from '../db/Interview.ts';
import type { DeliveredFile } from '../delivery/ProgressiveDelivery.ts';
import type { ArtifactOutcome } from '../delivery/RecordingArtifacts.ts';
import { RecordingFiles, type FileProgress } from '../delivery/RecordingFiles.ts';
import type { EndCause } from '../lifecycle/InterviewService.ts';
import { InterviewStatus } from '../db/InterviewStatus.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import { InterviewSession } from './InterviewSession.ts';
import type { SessionContext } from './SessionContext.ts';
import type { TimelineEvent } from '../../shared/timeline.ts';

/** Every session's events, with the interview they concern. */
export type SessionRegistryEvents = {
  room: [room: InterviewRoom];
  live: [interview: Interview];
  ended: [interview: Interview, cause: EndCause];
  progress: [interviewId: string, files: FileProgress[]];
  delivered: [interviewId: string, file: DeliveredFile];
  completed: [interview: Interview];
  failed: [interview: Interview];
  artifacts: [interviewId: string, outcomes: ArtifactOutcome[]];
  /** Cluster mode: another node owns the interview now; its pages here should reconnect there. */
  ownershipLost: [interviewId: string];
  /** An entry of the interview's timeline was stored (or events_dropped's count changed). */
  timelineEvent: [interviewId: string, event: TimelineEvent];
};

/**
 * The interview sessions of this node: the one map keyed by interview id. A session is made on
 * first use (a page connects, the admin API ends it, a restart resumes it) and let go once nothing
 * of it is in use.
 */
export class SessionRegistry extends EventEmitter<SessionRegistryEvents> {
  readonly #context: SessionContext;
  readonly #sessions = new Map<string, InterviewSession>();
  #closed = false;

  constructor(context: SessionContext) {
    super();
    this.#context = context;
  }

  get(interviewId: string): InterviewSession | undefined {
    return this.#sessions.get(interviewId);
  }

  /** The interview's session, made if there is none. */
  open(interviewId: string): InterviewSession {
    const existing = this.#sessions.get(interviewId);
    if (existing) return existing;
    const session = new InterviewSession(interviewId, this.#context);
    this.#sessions.set(interviewId, session);
    session.on('room', (room) => this.emit('room', room));
    session.on('live', (interview) => this.emit('live', interview));
    session.on('ended', (interview, cause) => this.emit('ended', interview, cause));
    session.on('progress', (files) => this.emit('progress', interviewId, files));
    session.on('delivered', (file) => this.emit('delivered', interviewId, file));
    session.on('completed', (interview) => this.emit('completed', interview));
    session.on('failed', (interview) => this.emit('failed', interview));
    session.on('artifacts', (outcomes) => this.emit('artifacts', interviewId, outcomes));
    session.on('ownershipLost', () => this.emit('ownershipLost', interviewId));
    session.timeline.on('event', (event) => this.emit('timelineEvent', interviewId, event));
    session.on('unused', () => {
      if (this.#sessions.get(interviewId) === session && session.unused && !this.#closed) this.#sessions.delete(interviewId);
    });
    return session;
  }

  /** Upload progress per file: live while a delivery runs here, else as stored. */
  async progressOf(interviewId: string): Promise<FileProgress[]> {
    return this.#sessions.get(interviewId)?.liveProgress ?? new RecordingFiles(this.#context.database, interviewId).storedProgress();
  }

  /** An interview's recording directory (whether or not a session runs for it). */
  recordingDirOf(interviewId: string): string {
    return this.#context.recordingDirOf(interviewId);
  }

  get sessions(): InterviewSession[] {
    return [...this.#sessions.values()];
  }

  /** Open rooms, one per interview at most. */
  get rooms(): InterviewRoom[] {
    return this.sessions.flatMap((session) => (session.room ? [session.room] : []));
  }

  /** Interviews whose room receives the candidate's media (admission counts them). */
  get withMedia(): number {
    return this.rooms.filter((room) => room.tracks.length > 0).length;
  }

  /** How many recordings are running (metrics). */
  get recordingCount(): number {
    return this.sessions.filter((session) => session.recording !== undefined).length;
  }

  /** After a start: every live interview's timer is re-armed, unfinished deliveries resume. */
  async resumeAll(): Promise<void> {
    const { interviews } = this.#context;
    for (const status of [InterviewStatus.Live, InterviewStatus.Finalizing, InterviewStatus.Failed]) {
      for (const interview of await interviews.list({ status })) await this.open(interview.id).resume();
    }
    // Completed just before a restart, its artifacts not yet made: made from the recording still on
    // this disk (another node's, in a cluster, stays with that node).
    for (const interviewId of (await this.#context.artifacts?.pendingInterviews()) ?? []) {
      if (fs.existsSync(this.#context.recordingDirOf(interviewId))) void this.open(interviewId).makeArtifacts();
    }
  }

  /** Waits for every delivery in progress (tests, bench). */
  async idle(): Promise<void> {
    await Promise.allSettled(this.sessions.map((session) => session.idle()));
  }

  /** Shutdown, first step: every recording stops gracefully, its segments kept for the next start. */
  async stopRecordings(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.sessions.map((session) => session.stopRecording()));
  }

  /** Shutdown, last step: every room closes. */
  close(): void {
    this.#closed = true;
    for (const session of this.sessions) session.close();
  }
}
