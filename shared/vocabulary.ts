/**
 * The words server, recorder, pages and tests share, defined once. Nothing here imports anything:
 * every layer (and the pages' bundle) may depend on it.
 */

/**
 * socket.io namespace of the signalling; the default namespace stays free for other uses. Here,
 * not in protocol.ts, so the pages and the SDK take it without bundling the protocol's zod schemas.
 */
export const SIGNALING_NAMESPACE = '/signaling';

/** The three live tracks a candidate publishes, in the order of the recording SDP's m-lines. */
export const TRACK_NAMES = ['screen', 'camera', 'audio'] as const;
export type TrackName = (typeof TRACK_NAMES)[number];
export type MediaKind = 'audio' | 'video';
export const TRACK_KINDS: Readonly<Record<TrackName, MediaKind>> = { screen: 'video', camera: 'video', audio: 'audio' };

/** The two deliverables of an interview; the audio goes into both. */
export const RECORDING_FILE_KINDS = ['screen', 'candidate'] as const;
export type RecordingFileKind = (typeof RECORDING_FILE_KINDS)[number];

// Statuses are plain string constants (not TypeScript enums) so the pages can compare with
// literals and the database stores the same strings.

/** Where an interview is in its life (persisted; its moves are in server/db/InterviewStatus.ts). */
export const InterviewStatus = {
  Created: 'created',
  Live: 'live',
  Finalizing: 'finalizing',
  Completed: 'completed',
  Failed: 'failed',
} as const;
export type InterviewStatus = (typeof InterviewStatus)[keyof typeof InterviewStatus];

/** Where one recording file is on its way from ffmpeg to the object store (persisted). */
export const RecordingFileStatus = {
  Recording: 'recording',
  Finalized: 'finalized',
  Uploading: 'uploading',
  Uploaded: 'uploaded',
  Failed: 'failed',
} as const;
export type RecordingFileStatus = (typeof RecordingFileStatus)[keyof typeof RecordingFileStatus];

/** Causes of the gaps kept on an interview (`gaps[].cause`). */
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
export type GapCause = (typeof GapCause)[keyof typeof GapCause];
export const GAP_CAUSES = Object.values(GapCause) as [GapCause, ...GapCause[]];

/** A stretch missing from an interview's recording, and why. */
export interface RecordingGap {
  start: string;
  end: string | null;
  cause: GapCause;
}

/**
 * What the candidate's page could establish about a screen share. `monitor`: the browser's
 * displaySurface said so, or (where it gives none) the track's size and label match a whole
 * screen; `unverified`: the browser gave no way to tell, so the share was accepted unproven.
 */
export const SCREEN_VERDICTS = ['monitor', 'unverified'] as const;
type ScreenVerdict = (typeof SCREEN_VERDICTS)[number];
export interface ScreenSource {
  verdict: ScreenVerdict;
  evidence: string;
}

/** Typed errors of the service; HTTP statuses and signalling acks carry these codes. */
export type ErrorCode = 'invalid_input' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'unavailable' | 'database_unavailable' | 'at_capacity' | 'limit_reached' | 'insufficient_storage' | 'internal';

/**
 * The filmstrip of the screen recording as the API and the review page see it: one JPEG sheet,
 * signed like the videos; tile i (row-major, `columns` a row, each tileWidth × tileHeight) shows
 * the screen at i × intervalSeconds.
 */
export interface FilmstripView {
  url: string;
  intervalSeconds: number;
  count: number;
  columns: number;
  tileWidth: number;
  tileHeight: number;
}

/** One file's delivery as the API shows it. */
export interface FileProgress {
  kind: RecordingFileKind;
  status: RecordingFileStatus;
  sizeBytes: number;
  uploadedBytes: number;
}

/** What the admin API and the pages see of an interview. */
export interface InterviewView {
  id: string;
  /** The host app's own id for the interview, given at creation; null when none was. */
  externalId: string | null;
  status: InterviewStatus;
  durationSeconds: number;
  candidateName: string | null;
  createdAt: string;
  startedAt: string | null;
  endsAt: string | null;
  completedAt: string | null;
  screenVideo: string;
  candidateVideo: string;
  /** Stable stored URL of timeline.vtt (the interview's events as WebVTT); empty until uploaded. */
  timelineVtt: string;
  score: number;
  notes: string;
  failureReason: string | null;
  /** Stretches missing from the recording (outages, restarts), with their cause. */
  gaps: RecordingGap[];
  /** When the recordings were deleted (request or retention); null while they are kept. */
  recordingsDeletedAt: string | null;
  /**
   * The shared screen as the candidate's browser described it: `monitor` (the browser said so, or
   * its size and label match a whole screen) or `unverified` (accepted without proof); null before
   * a share. Reported by the page, so it is evidence, not a guarantee.
   */
  screenSource: ScreenSource | null;
  /** Where the candidate goes after the end (an allowed origin's URL, given at creation); null: nowhere. */
  returnUrl: string | null;
  /** The host app's JSON object, given at creation; null when none was. */
  metadata: Record<string, unknown> | null;
  /** A failed interview: when the service tries to save its recordings again by itself; null when it will not (or it has not failed). */
  nextRetryAt: string | null;
}
