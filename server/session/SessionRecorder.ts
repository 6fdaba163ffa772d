import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import type { PortRange } from '../../recorder-pipeline/ffmpeg/udpPorts.ts';
import type { TrackName } from '../../recorder-pipeline/tracks.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import type { RecordingGaps } from './RecordingGaps.ts';
import { wireRecording } from './RecordingWiring.ts';
import type { SessionDelivery } from './SessionDelivery.ts';
import type { SessionTimeline } from './SessionTimeline.ts';

export interface SessionRecorderOptions {
  recordingDir: string;
  rtcPortRange: PortRange;
  logger: Logger;
  /** The recording's way out: each new segment goes to the progressive upload and the journal. */
  delivery: Pick<SessionDelivery, 'files' | 'progressive' | 'journal'>;
  gaps: RecordingGaps;
  timeline: SessionTimeline;
  /** Runs `task` on the session's queue, after the interview's earlier events. */
  enqueue: (task: () => Promise<void>) => void;
  /** The recording's first media reached its files at `at` (the clock may start). */
  flowing: (at: Date) => void;
  /** The recording stopped and was let go (the session may be unused now). */
  released: () => void;
}

/**
 * The interview's recorder on this node: one `InterviewRecording` per room (it reads from the
 * room's router), made on the room's first producer and wired to the gaps, the uploads and the
 * timeline. It also knows whether this process has recorded the interview yet: the first
 * recording (or the end, if no media came back) first picks up what earlier runs left.
 */
export class SessionRecorder {
  readonly #options: SessionRecorderOptions;
  #recording: InterviewRecording | undefined;
  /** The room the recording reads from: a recording lives on its room's router. */
  #recordingRoom: InterviewRoom | undefined;
  /** This process has recorded the interview: any later outage has a known start. */
  #recordedHere = false;

  constructor(options: SessionRecorderOptions) {
    this.#options = options;
  }

  /** The running recording, if any. */
  get running(): InterviewRecording | undefined {
    return this.#recording && !this.#recording.stopped ? this.#recording : undefined;
  }

  /** A recording is held (running, or stopping and not let go yet). */
  get inUse(): boolean {
    return this.#recording !== undefined;
  }

  get recordedHere(): boolean {
    return this.#recordedHere;
  }

  /** Records the producer (the room's recording is made on its first producer). Call on the session's queue. */
  async record(room: InterviewRoom, track: TrackName, producer: types.Producer): Promise<void> {
    if (room.closed || producer.closed) return;
    const logger = this.#options.logger;
    try {
      const recording = await this.#recordingFor(room);
      if (room.closed || producer.closed || recording.stopped) return;
      // Not awaited on the queue: the last track starts ffmpeg, which retries until it runs or
      // the recording stops, and the end must be able to stop it.
      recording.attachProducer(track, producer).catch((error: unknown) => logger.error({ err: error, track }, 'could not record a producer'));
    } catch (error) {
      logger.error({ err: error, track }, 'could not record a producer');
    }
  }

  /**
   * The first recording of this process (or the end, when none came): segments this disk lacks
   * (it was lost, or another node recorded them) come back from the journal, and the outage since
   * the last bytes written (a crash or a deploy) is opened as a gap.
   */
  async pickUpEarlierRuns(options: { followFirstSegment: boolean }): Promise<void> {
    if (!this.#recordedHere) {
      await this.#options.delivery.journal?.restore();
      await this.#options.gaps.openFromDisk(this.#options.recordingDir);
      if (options.followFirstSegment) this.#options.delivery.progressive?.followFirstSegment();
    }
    this.#recordedHere = true;
  }

  /** Another node records the interview now: should it come back here, what that node recorded is restored first. */
  forgetRecordedHere(): void {
    this.#recordedHere = false;
  }

  /** Marks where the files stop, now (see `InterviewRecording.cutNow`); returns the undo. */
  cutNow(): (() => void) | undefined {
    return this.#recording?.cutNow();
  }

  /** Tells ffmpeg to stop; the recording is let go when it has stopped. */
  stop(): Promise<void> | undefined {
    return this.#recording?.stop();
  }

  /**
   * Stops recording on this node for whoever records or delivers next (shutdown, or another node
   * owns the interview): the recording is let go at once, `beforeStop` runs (the room may close
   * there), the recording and the upload stop, and the last bytes go to the journal.
   */
  async stopHere(beforeStop?: () => void): Promise<void> {
    const recording = this.#recording;
    this.#recording = undefined;
    beforeStop?.();
    await Promise.allSettled([recording?.stop(), this.#options.delivery.progressive?.close()]);
    await this.#options.delivery.journal?.flush();
  }

  /** The recording of this room; one made for an earlier room is stopped. */
  async #recordingFor(room: InterviewRoom): Promise<InterviewRecording> {
    if (this.#recording && !this.#recording.stopped && this.#recordingRoom === room) return this.#recording;
    // Normally it stopped with its router; not when the worker died before any track was bound.
    if (this.#recording && !this.#recording.stopped) void this.#recording.stop().catch(() => undefined);
    this.#recording = undefined;
    const { recordingDir, rtcPortRange, logger, timeline } = this.#options;
    await this.pickUpEarlierRuns({ followFirstSegment: true });
    const recording = await InterviewRecording.create({ router: room.router, outputDir: recordingDir, logger: logger.child({ component: 'recording' }), rtcPortRange });
    this.#recording = recording;
    this.#recordingRoom = room;
    await this.#options.delivery.files.rows();
    wireRecording(recording, {
      progressive: this.#options.delivery.progressive,
      journal: this.#options.delivery.journal,
      gaps: this.#options.gaps,
      enqueue: this.#options.enqueue,
      segmentFlowing: (index, at) => timeline.log.segmentFlowing(index, at),
      screenSize: (width, height) => timeline.log.observeScreenSize(width, height),
      flowing: this.#options.flowing,
      stopped: () => {
        if (this.#recording === recording) this.#recording = undefined;
        this.#options.released();
      },
    });
    return recording;
  }
}
