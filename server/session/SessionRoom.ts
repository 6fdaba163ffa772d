import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { trackNames, type TrackName } from '../../recorder-pipeline/tracks.ts';
import { AppError } from '../errors.ts';
import type { InterviewRoom, RoomCloseReason } from '../sfu/InterviewRoom.ts';
import type { RecordingGaps } from './RecordingGaps.ts';
import { outageOfClosedRoom } from './RecordingWiring.ts';
import type { SessionRecorder } from './SessionRecorder.ts';
import type { SessionTimeline } from './SessionTimeline.ts';

/**
 * An interview goes live (its clock starts) when the first media reaches its recording. If the
 * recording cannot start, the clock starts anyway this long after the candidate's media arrived:
 * a broken recorder must not keep an interview from ever ending.
 */
const LIVE_WITHOUT_RECORDING_MS = 10_000;
/** Why anything that would open media is refused once the interview has ended (signalling says the same). */
export const INTERVIEW_ENDED = 'the interview has ended';

export interface SessionRoomOptions {
  interviewId: string;
  /** Opens a room for the interview on the least-loaded worker. */
  createRoom: (interviewId: string) => Promise<InterviewRoom>;
  /** The session has learnt the interview's stored status. */
  loaded: Promise<void>;
  logger: Logger;
  recorder: SessionRecorder;
  gaps: RecordingGaps;
  timeline: SessionTimeline;
  /** The node is shutting down: no room opens. */
  closed: () => boolean;
  /** The interview has ended: no room opens, nothing more is recorded. */
  ended: () => boolean;
  /** Runs `task` on the session's queue, after the interview's earlier events. */
  enqueue: (task: () => Promise<void>) => void;
  /** The candidate's media arrived but never reached a recording: the clock starts at `at` anyway. */
  liveWithoutRecording: (at: Date) => void;
  /** A room was opened (again) for the interview. */
  opened: (room: InterviewRoom) => void;
  /** The room closed (the session may be unused now). */
  released: () => void;
}

/**
 * The interview's room on this node and what it feeds: opened on demand (concurrent callers share
 * one), each producer recorded, the live fallback armed when media flows, the candidate's loss
 * watched, and the outage a closed room leaves opened as a gap. A new room (after a worker died or
 * the room idled out) is adopted the same way.
 */
export class SessionRoom {
  readonly #options: SessionRoomOptions;
  #room: InterviewRoom | undefined;
  #opening: Promise<InterviewRoom> | undefined;
  /** When the candidate's last producer closed (the tab went away), until one comes back. */
  #candidateLeftAt: Date | undefined;
  #liveFallback: NodeJS.Timeout | undefined;

  constructor(options: SessionRoomOptions) {
    this.#options = options;
  }

  /** The open room, if any. */
  get current(): InterviewRoom | undefined {
    return this.#room && !this.#room.closed ? this.#room : undefined;
  }

  /** A room is held or being opened. */
  get inUse(): boolean {
    return this.#room !== undefined || this.#opening !== undefined;
  }

  /** The interview's room, opened if needed; concurrent callers share one. Refused once the interview has ended. */
  open(): Promise<InterviewRoom> {
    const { closed, ended } = this.#options;
    if (closed()) return Promise.reject(new AppError('unavailable', 'the service is shutting down'));
    if (ended()) return Promise.reject(new AppError('conflict', INTERVIEW_ENDED));
    if (this.#room && !this.#room.closed) return Promise.resolve(this.#room);
    // A new session learns the stored status first (if the database fails there, the room opens all the same).
    this.#opening ??= this.#options.loaded
      .catch(() => undefined)
      .then(() => {
        if (ended()) throw new AppError('conflict', INTERVIEW_ENDED);
        return this.#options.createRoom(this.#options.interviewId);
      })
      .then((room) => {
        if (closed()) {
          room.close('shutdown');
          throw new AppError('unavailable', 'the service is shutting down');
        }
        // Ended while the room was being made: it would record nothing, and nothing would close it.
        if (ended()) {
          room.close('ended');
          throw new AppError('conflict', INTERVIEW_ENDED);
        }
        this.#adopt(room);
        return room;
      })
      .finally(() => {
        this.#opening = undefined;
      });
    return this.#opening;
  }

  close(reason: RoomCloseReason): void {
    this.#room?.close(reason);
  }

  /** The media reached the recording (or the interview ends, or stops here): the fallback is not needed. */
  cancelLiveFallback(): void {
    clearTimeout(this.#liveFallback);
  }

  #adopt(room: InterviewRoom): void {
    const { recorder, enqueue, logger } = this.#options;
    this.#room = room;
    this.#candidateLeftAt = undefined;
    room.on('producer', (track, producer) => {
      this.#candidateLeftAt = undefined;
      enqueue(() => this.#record(room, track, producer));
    });
    room.on('producerClosed', () => {
      // An empty room idles out only later; what is missing starts here, not then.
      if (!room.closed && room.tracks.length === 0) this.#candidateLeftAt ??= new Date();
    });
    room.on('flowing', () => {
      clearTimeout(this.#liveFallback);
      this.#liveFallback = setTimeout(() => {
        logger.warn('no media reached the recording; the interview goes live without it');
        this.#options.liveWithoutRecording(new Date());
      }, LIVE_WITHOUT_RECORDING_MS);
      this.#liveFallback.unref();
    });
    const stopWatchingLoss = this.#options.timeline.watchLoss(room, () => !this.#options.ended());
    room.once('closed', (reason) => {
      stopWatchingLoss();
      clearTimeout(this.#liveFallback);
      if (this.#room === room) this.#room = undefined;
      // A recording on this room's router stops with it; the next room's recording closes the gap.
      const gaps = this.#options.gaps;
      const outage = recorder.recordedHere && !gaps.hasPending ? outageOfClosedRoom(reason, this.#candidateLeftAt) : undefined;
      if (outage) gaps.open(outage.start, outage.cause);
      this.#options.released();
    });
    this.#options.opened(room);
    for (const track of trackNames) {
      const producer = room.getProducer(track);
      if (producer) enqueue(() => this.#record(room, track, producer));
    }
  }

  /** On the queue: nothing more is recorded once the node shuts down or the interview has ended. */
  #record(room: InterviewRoom, track: TrackName, producer: types.Producer): Promise<void> {
    if (this.#options.closed() || this.#options.ended()) return Promise.resolve();
    return this.#options.recorder.record(room, track, producer);
  }
}
