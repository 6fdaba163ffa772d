import type { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import { GapCause } from '../../shared/vocabulary.ts';
import type { ProgressiveDelivery } from '../delivery/ProgressiveDelivery.ts';
import type { RecordingJournal } from '../delivery/RecordingJournal.ts';
import { recorderRestarts } from '../metrics/counters.ts';
import type { RoomCloseReason } from '../sfu/InterviewRoom.ts';
import type { RecordingGaps } from './RecordingGaps.ts';

/** What a session gives the wiring of one recording. */
export interface RecordingHooks {
  progressive: ProgressiveDelivery | undefined;
  journal: RecordingJournal | undefined;
  gaps: RecordingGaps;
  /** Runs `task` on the session's queue, after the interview's earlier events. */
  enqueue: (task: () => Promise<void>) => void;
  /** The recording's first media reached its files at `at` (the clock may start). */
  flowing: (at: Date) => void;
  /** A segment's media began at `at` (each ffmpeg run's files are timed from there). */
  segmentFlowing?: ((index: number, at: Date) => void) | undefined;
  stopped: () => void;
  /** The screen's key frames came in at another size. */
  screenSize?: ((width: number, height: number) => void) | undefined;
}

/**
 * Wires one recording's events to the session: new segments to the progressive upload and the
 * journal, breaks in the media to the interview's gaps (with their causes), its first media to
 * the clock.
 */
export function wireRecording(recording: InterviewRecording, hooks: RecordingHooks): void {
  const { progressive, journal, gaps, enqueue } = hooks;
  recording.on('segmentStarted', ({ index, dir }) => {
    progressive?.segmentStarted(index, dir);
    journal?.segmentStarted(index, dir);
  });
  recording.on('ffmpegExited', ({ index }) => void journal?.segmentEnded(index));
  recording.on('gap', ({ gapMs }) => {
    recorderRestarts.inc();
    const at = new Date();
    enqueue(() => gaps.addEndingAt(at, gapMs, GapCause.RecorderRestarted));
  });
  recording.on('generation', ({ track, gapMs }) => {
    const at = new Date();
    if (track === 'audio' && gapMs > 0) enqueue(() => gaps.addEndingAt(at, gapMs, GapCause.CandidateReconnected));
  });
  recording.on('stalled', ({ track, gapMs }) => {
    const at = new Date();
    if (track === 'audio') enqueue(() => gaps.addEndingAt(at, gapMs, GapCause.CandidateConnectionLost));
  });
  recording.on('mediaFlowing', ({ index, startedAtMs }) => {
    hooks.segmentFlowing?.(index, new Date(startedAtMs));
    journal?.mediaStarted(index, new Date(startedAtMs));
  });
  // The clock starts when the media reached the recording, not when this interview's queue got to
  // it (behind other work of the interview, on a busy machine); the files are timed from their
  // first media too.
  recording.once('mediaFlowing', () => hooks.flowing(new Date()));
  recording.on('frameSize', ({ track, width, height }) => {
    if (track === 'screen') hooks.screenSize?.(width, height);
  });
  recording.once('stopped', () => hooks.stopped());
}

/**
 * The outage a closed room leaves, when the recording on its router stops with it (the next room's
 * recording closes the gap); undefined when the room closed for good (ended, shutdown, moved).
 */
export function outageOfClosedRoom(reason: RoomCloseReason, candidateLeftAt: Date | undefined): { start: Date; cause: GapCause } | undefined {
  if (reason === 'workerDied') return { start: new Date(), cause: GapCause.MediaServerRestarted };
  if (reason !== 'idle') return undefined;
  if (candidateLeftAt) return { start: candidateLeftAt, cause: GapCause.CandidateLeft };
  return { start: new Date(), cause: GapCause.CandidateReconnected };
}
