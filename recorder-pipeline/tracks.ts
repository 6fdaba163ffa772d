import type { TrackName } from '../shared/vocabulary.ts';

// The recorder's names for the shared vocabulary (the SDP's m-lines are in TRACK_NAMES order).
export { RECORDING_FILE_KINDS as recordedFiles, TRACK_NAMES as trackNames, type RecordingFileKind as RecordedFile, type TrackName } from '../shared/vocabulary.ts';

export function isVideoTrack(track: TrackName): boolean {
  return track !== 'audio';
}
