import path from 'node:path';
import type { RecordedFile } from './tracks.ts';

/**
 * Where an interview's recording lives on disk, in one place:
 *
 *     <DATA_DIR>/recordings/<interview id>/
 *       segment-000/{screen,candidate}.webm   one folder per ffmpeg run (see segments.ts)
 *       .progressive/{screen,candidate}.webm  the live remux being uploaded while recording
 *       screen.webm, candidate.webm           the final files, removed once both are stored
 */
export const PROGRESSIVE_DIR = '.progressive';

export function recordingsRootOf(dataDir: string): string {
  return path.join(dataDir, 'recordings');
}

export function recordingDirOf(recordingsRoot: string, interviewId: string): string {
  return path.join(recordingsRoot, interviewId);
}

/** A deliverable as finalized (or remuxed live) next to the segments. */
export function finalFileOf(recordingDir: string, file: RecordedFile): string {
  return path.join(recordingDir, `${file}.webm`);
}

/** One ffmpeg run's folder name, `segment-NNN` (see segments.ts). */
export function segmentName(index: number): string {
  return `segment-${String(index).padStart(3, '0')}`;
}

export function segmentDir(recordingDir: string, index: number): string {
  return path.join(recordingDir, segmentName(index));
}

export function segmentFile(segmentDirectory: string, file: RecordedFile): string {
  return path.join(segmentDirectory, `${file}.webm`);
}
