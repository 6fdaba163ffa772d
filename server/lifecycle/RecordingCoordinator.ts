import type { Logger } from 'pino';
import { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import type { TrackName } from '../../recorder-pipeline/tracks.ts';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import { RECORDING_FILE_KINDS, RecordingFile } from '../db/RecordingFile.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import type { RoomRegistry } from '../sfu/RoomRegistry.ts';
import type { InterviewFinalizer } from './InterviewFinalizer.ts';
import type { InterviewService } from './InterviewService.ts';
import { hasEnded } from './InterviewStatus.ts';

const TRACKS: readonly TrackName[] = ['screen', 'camera', 'audio'];

export interface RecordingCoordinatorOptions {
  database: Database;
  interviews: InterviewService;
  rooms: RoomRegistry;
  finalizer: InterviewFinalizer;
  logger: Logger;
}

/**
 * Connects the SFU to the recorder: every producer of an interview's room goes into that
 * interview's recording; when the interview ends, the recording stops and finalization starts.
 * Gaps in the recording are kept on the interview.
 */
export class RecordingCoordinator {
  readonly #options: RecordingCoordinatorOptions;
  readonly #recordings = new Map<string, Promise<InterviewRecording>>();
  #closed = false;

  constructor(options: RecordingCoordinatorOptions) {
    this.#options = options;
    options.rooms.on('room', (room) => this.#follow(room));
    options.interviews.on('ended', (interview) => void this.#endRecording(interview.id));
  }

  /** The running recording of an interview, if any (tests and fault tooling read its pids). */
  async recordingOf(interviewId: string): Promise<InterviewRecording | undefined> {
    return this.#recordings.get(interviewId);
  }

  #follow(room: InterviewRoom): void {
    const attach = (track: TrackName, producer: Parameters<InterviewRecording['attachProducer']>[1]) => {
      void this.#attach(room, track, producer).catch((error) =>
        this.#options.logger.error({ err: error, interviewId: room.interviewId, track }, 'could not record a producer'),
      );
    };
    room.on('producer', attach);
    for (const track of TRACKS) {
      const producer = room.getProducer(track);
      if (producer) attach(track, producer);
    }
  }

  async #attach(room: InterviewRoom, track: TrackName, producer: Parameters<InterviewRecording['attachProducer']>[1]): Promise<void> {
    if (this.#closed) return;
    const interview = await this.#options.interviews.find(room.interviewId);
    if (!interview || hasEnded(interview.status)) return;
    const recording = await this.#recordingFor(room);
    await recording.attachProducer(track, producer);
  }

  async #recordingFor(room: InterviewRoom): Promise<InterviewRecording> {
    const existing = this.#recordings.get(room.interviewId);
    if (existing) {
      const recording = await existing;
      if (!recording.stopped) return recording;
    }
    const creating = this.#createRecording(room);
    this.#recordings.set(room.interviewId, creating);
    creating.catch(() => this.#recordings.delete(room.interviewId));
    return creating;
  }

  async #createRecording(room: InterviewRoom): Promise<InterviewRecording> {
    const interviewId = room.interviewId;
    const logger = this.#options.logger.child({ interviewId, component: 'recording' });
    const recording = await InterviewRecording.create({ router: room.router, outputDir: this.#options.finalizer.recordingDir(interviewId), logger });
    await this.#ensureFileRows(interviewId);
    recording.on('gap', ({ gapMs }) => void this.#addGap(interviewId, gapMs, 'recorder restarted'));
    recording.on('generation', ({ track, gapMs }) => {
      if (track === 'audio' && gapMs > 0) void this.#addGap(interviewId, gapMs, 'candidate reconnected');
    });
    return recording;
  }

  async #ensureFileRows(interviewId: string): Promise<void> {
    const em = this.#options.database.em();
    const existing = await em.find(RecordingFile, { interviewId });
    for (const kind of RECORDING_FILE_KINDS) {
      if (!existing.some((row) => row.kind === kind)) em.persist(new RecordingFile(interviewId, kind));
    }
    await em.flush();
  }

  async #addGap(interviewId: string, gapMs: number, cause: string): Promise<void> {
    const em = this.#options.database.em();
    const interview = await em.findOne(Interview, { id: interviewId });
    if (!interview) return;
    const end = new Date();
    interview.gaps = [...interview.gaps, { start: new Date(end.getTime() - gapMs).toISOString(), end: end.toISOString(), cause }];
    await em.flush();
  }

  async #endRecording(interviewId: string): Promise<void> {
    const recording = this.#recordings.get(interviewId);
    this.#recordings.delete(interviewId);
    try {
      await (await recording)?.stop();
    } catch (error) {
      this.#options.logger.error({ err: error, interviewId }, 'stopping the recording failed; finalizing what is on disk');
    }
    if (!this.#closed) await this.#options.finalizer.finalize(interviewId);
  }

  /** Stops every recording gracefully, leaving the segments on disk for the next start. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const recordings = [...this.#recordings.values()];
    this.#recordings.clear();
    await Promise.allSettled(recordings.map(async (recording) => (await recording).stop()));
  }
}
