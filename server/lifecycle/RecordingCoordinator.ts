import fs from 'node:fs/promises';
import type { Logger } from 'pino';
import { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import type { PortRange } from '../../recorder-pipeline/ffmpeg/udpPorts.ts';
import { listSegments, segmentFile } from '../../recorder-pipeline/segments.ts';
import { recordedFiles } from '../../recorder-pipeline/tracks.ts';
import type { TrackName } from '../../recorder-pipeline/tracks.ts';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import { RECORDING_FILE_KINDS, RecordingFile } from '../db/RecordingFile.ts';
import { recorderRestarts, recordingGaps } from '../metrics/counters.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import type { RoomRegistry } from '../sfu/RoomRegistry.ts';
import type { InterviewFinalizer } from './InterviewFinalizer.ts';
import type { InterviewService } from './InterviewService.ts';
import { hasEnded } from './InterviewStatus.ts';

const TRACKS: readonly TrackName[] = ['screen', 'camera', 'audio'];

/**
 * An interview goes live (its clock starts) when the first media reaches its recording. If the
 * recording cannot start, the clock starts anyway this long after the candidate's media arrived:
 * a broken recorder must not keep an interview from ever ending.
 */
const LIVE_WITHOUT_RECORDING_MS = 10_000;

export interface RecordingCoordinatorOptions {
  database: Database;
  interviews: InterviewService;
  rooms: RoomRegistry;
  finalizer: InterviewFinalizer;
  logger: Logger;
  /** mediasoup's RTC ports, which the recorder's ffmpeg must not pick. */
  rtcPortRange: PortRange;
  webhooks?: WebhookOutbox | undefined;
}

/** Causes of the gaps kept on an interview (`Interview.gaps[].cause`). */
export const GapCause = {
  /** The whole service stopped (crash, SIGKILL, deploy) and started again. */
  ServiceRestarted: 'service restarted',
  /** ffmpeg died and was restarted into a new segment. */
  RecorderRestarted: 'recorder restarted',
  /** The interview's mediasoup worker died; the room reopened on a live worker. */
  MediaServerRestarted: 'media server restarted',
  /** The candidate's page came back with new producers (reload, socket reconnect). */
  CandidateReconnected: 'candidate reconnected',
  /** The candidate's media stopped arriving for a while, then resumed on the same producers. */
  CandidateConnectionLost: 'candidate connection lost',
  /** The candidate's page went away (tab closed) for longer than an empty room is kept. */
  CandidateLeft: 'candidate left',
} as const;

/** An outage not yet closed: it ends when the next recording's media flows. */
interface PendingGap {
  start: Date;
  cause: string;
}

/**
 * Connects the SFU to the recorder: every producer of an interview's room goes into that
 * interview's recording; when the interview ends, the recording stops and finalization starts.
 * Gaps in the recording are kept on the interview: each outage with its real start, end and cause.
 */
export class RecordingCoordinator {
  readonly #options: RecordingCoordinatorOptions;
  readonly #recordings = new Map<string, Promise<InterviewRecording>>();
  /** Interviews this process has recorded: any other with segments on disk was cut by a restart. */
  readonly #seen = new Set<string>();
  readonly #pendingGaps = new Map<string, PendingGap>();
  /** Gap writes per interview, one at a time (each one reads and extends the list). */
  readonly #gapWrites = new Map<string, Promise<void>>();
  readonly #recordingRooms = new WeakMap<InterviewRecording, InterviewRoom>();
  readonly #cancelLiveFallback = new WeakMap<InterviewRoom, () => void>();
  #closed = false;

  constructor(options: RecordingCoordinatorOptions) {
    this.#options = options;
    options.rooms.on('room', (room) => this.#follow(room));
    options.interviews.on('ended', (interview) => void this.#endRecording(interview.id, interview.completedAt ?? new Date()));
  }

  /** How many recordings are running (metrics). */
  get runningCount(): number {
    return this.#recordings.size;
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
    // When the candidate's last producer closed (the tab went away): an empty room idles out only
    // later, and what is missing starts here, not then.
    let candidateLeftAt: Date | undefined;
    room.on('producer', (track, producer) => {
      candidateLeftAt = undefined;
      attach(track, producer);
    });
    room.on('producerClosed', () => {
      if (!room.closed && room.tracks.length === 0) candidateLeftAt ??= new Date();
    });
    let liveFallback: NodeJS.Timeout | undefined;
    room.on('flowing', () => {
      clearTimeout(liveFallback);
      liveFallback = setTimeout(() => {
        this.#options.logger.warn({ interviewId: room.interviewId }, 'no media reached the recording; the interview goes live without it');
        this.#markLive(room.interviewId);
      }, LIVE_WITHOUT_RECORDING_MS);
      liveFallback.unref();
    });
    this.#cancelLiveFallback.set(room, () => clearTimeout(liveFallback));
    room.once('closed', (reason) => {
      clearTimeout(liveFallback);
      // A recording on this room's router stops with it; the next room's recording closes the gap.
      if (reason !== 'workerDied' && reason !== 'idle') return;
      if (!this.#seen.has(room.interviewId) || this.#pendingGaps.has(room.interviewId)) return;
      if (reason === 'workerDied') this.#pendingGaps.set(room.interviewId, { start: new Date(), cause: GapCause.MediaServerRestarted });
      else if (candidateLeftAt) this.#pendingGaps.set(room.interviewId, { start: candidateLeftAt, cause: GapCause.CandidateLeft });
      else this.#pendingGaps.set(room.interviewId, { start: new Date(), cause: GapCause.CandidateReconnected });
    });
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
    // The room went (its worker died) while the recording was being set up: the next room records.
    if (!recording || room.closed || producer.closed) return;
    await recording.attachProducer(track, producer);
  }

  /**
   * The recording of this room: one per room, since a recording lives on its room's router. One
   * made for an earlier room is stopped (normally it stopped with that router; not when the worker
   * died before any track was bound to it).
   */
  async #recordingFor(room: InterviewRoom): Promise<InterviewRecording | undefined> {
    const interviewId = room.interviewId;
    for (;;) {
      // A room that is gone records nothing, and must not stop or replace its successor's recording.
      if (room.closed) return undefined;
      const existing = this.#recordings.get(interviewId);
      if (!existing) break;
      const recording = await existing.catch(() => undefined);
      // Replaced while we waited (another track of the new room got there first): look again.
      if (this.#recordings.get(interviewId) !== existing || room.closed) continue;
      if (recording && !recording.stopped && this.#recordingRooms.get(recording) === room) return recording;
      if (recording && !recording.stopped) void recording.stop().catch(() => undefined);
      break;
    }
    const creating = this.#createRecording(room);
    this.#recordings.set(interviewId, creating);
    creating.catch(() => {
      if (this.#recordings.get(interviewId) === creating) this.#recordings.delete(interviewId);
    });
    return creating;
  }

  async #createRecording(room: InterviewRoom): Promise<InterviewRecording> {
    const interviewId = room.interviewId;
    const logger = this.#options.logger.child({ interviewId, component: 'recording' });
    const outputDir = this.#options.finalizer.recordingDir(interviewId);
    // The first recording of this process for an interview that already has segments: the
    // service was down (crash or deploy) since the last bytes it wrote.
    if (!this.#seen.has(interviewId) && !this.#pendingGaps.has(interviewId)) {
      const lastWrite = await lastSegmentWrite(outputDir);
      if (lastWrite) this.#pendingGaps.set(interviewId, { start: lastWrite, cause: GapCause.ServiceRestarted });
    }
    this.#seen.add(interviewId);
    const recording = await InterviewRecording.create({ router: room.router, outputDir, logger, rtcPortRange: this.#options.rtcPortRange });
    this.#recordingRooms.set(recording, room);
    await this.#ensureFileRows(interviewId);
    recording.on('gap', ({ gapMs }) => {
      recorderRestarts.inc();
      void this.#addGapMs(interviewId, gapMs, GapCause.RecorderRestarted);
    });
    recording.on('generation', ({ track, gapMs }) => {
      if (track === 'audio' && gapMs > 0) void this.#addGapMs(interviewId, gapMs, GapCause.CandidateReconnected);
    });
    recording.on('stalled', ({ track, gapMs }) => {
      if (track === 'audio') void this.#addGapMs(interviewId, gapMs, GapCause.CandidateConnectionLost);
    });
    recording.once('mediaFlowing', () => {
      this.#cancelLiveFallback.get(room)?.();
      this.#markLive(interviewId);
      void this.#closePendingGap(interviewId);
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

  /** The interview's clock starts now (a no-op once it is live). */
  #markLive(interviewId: string): void {
    this.#options.interviews.markLive(interviewId).catch((error: unknown) => {
      this.#options.logger.error({ err: error, interviewId }, 'could not mark the interview live');
    });
  }

  /** A gap that ended now and lasted `gapMs`. */
  #addGapMs(interviewId: string, gapMs: number, cause: string): Promise<void> {
    const end = new Date();
    return this.#addGap(interviewId, new Date(end.getTime() - gapMs), end, cause);
  }

  #closePendingGap(interviewId: string, end = new Date()): Promise<void> {
    const pending = this.#pendingGaps.get(interviewId);
    if (!pending) return Promise.resolve();
    this.#pendingGaps.delete(interviewId);
    return this.#addGap(interviewId, pending.start, end, pending.cause);
  }

  #addGap(interviewId: string, start: Date, end: Date, cause: string): Promise<void> {
    const write = (this.#gapWrites.get(interviewId) ?? Promise.resolve()).then(async () => {
      const em = this.#options.database.em();
      const interview = await em.findOne(Interview, { id: interviewId });
      if (!interview) return;
      const gap = { start: start.toISOString(), end: end.toISOString(), cause };
      interview.gaps = [...interview.gaps, gap];
      this.#options.webhooks?.record(em, 'interview.gap', interviewId, { gap });
      await em.flush();
      this.#options.webhooks?.poke();
      recordingGaps.inc({ cause });
      this.#options.logger.warn({ interviewId, gap: { start, end, ms: end.getTime() - start.getTime() }, cause }, 'gap in the recording');
    });
    const settled = write.catch((error: unknown) => this.#options.logger.error({ err: error, interviewId, cause }, 'could not record a gap'));
    this.#gapWrites.set(interviewId, settled);
    void settled.finally(() => {
      if (this.#gapWrites.get(interviewId) === settled) this.#gapWrites.delete(interviewId);
    });
    return settled;
  }

  async #endRecording(interviewId: string, endedAt: Date): Promise<void> {
    const recording = this.#recordings.get(interviewId);
    this.#recordings.delete(interviewId);
    try {
      await (await recording)?.stop();
    } catch (error) {
      this.#options.logger.error({ err: error, interviewId }, 'stopping the recording failed; finalizing what is on disk');
    }
    // An outage that lasted until the end (the media never came back, or the interview's time ran
    // out while the service was down) is a gap up to the end.
    if (!this.#seen.has(interviewId) && !this.#pendingGaps.has(interviewId)) {
      const lastWrite = await lastSegmentWrite(this.#options.finalizer.recordingDir(interviewId)).catch(() => undefined);
      if (lastWrite) this.#pendingGaps.set(interviewId, { start: lastWrite, cause: GapCause.ServiceRestarted });
    }
    this.#seen.add(interviewId);
    await this.#closePendingGap(interviewId, endedAt);
    await this.#gapWrites.get(interviewId);
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
