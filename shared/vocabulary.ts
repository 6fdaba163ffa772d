/**
 * The words server, recorder, pages and tests share, defined once. Nothing here imports anything:
 * every layer may depend on it.
 */

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

/** A stretch missing from an interview's recording. */
export interface RecordingGap {
  start: string;
  end: string | null;
  cause: GapCause;
}

export const GAP_CAUSES = Object.values(GapCause) as [GapCause, ...GapCause[]];
