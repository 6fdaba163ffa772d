/**
 * The interview's timeline: what happened, when, and where in the recordings. The kinds, who may
 * write each, and the shape of one event, defined once for the server, the SDK, the proctor and
 * review pages and the tests. Nothing here imports anything (the pages' bundle takes it whole);
 * the zod schema of a candidate's report is in protocol.ts.
 */

/**
 * What the candidate's browser reports. Each is evidence the page saw, not a security control: a
 * modified page can stay silent or lie, so these help a reviewer find moments, never decide alone.
 */
export const CANDIDATE_EVENT_KINDS = [
  'tab_hidden',
  'tab_visible',
  'window_blurred',
  'window_focused',
  'fullscreen_exited',
  'screen_share_stopped',
  'screen_share_restarted',
  'screen_surface_changed',
  'camera_muted',
  'camera_unmuted',
  'camera_ended',
  'camera_switched',
  'microphone_muted',
  'microphone_unmuted',
  'microphone_ended',
  'microphone_switched',
  'second_screen_suspected',
  'copied',
  'pasted',
  'page_reloaded',
  'page_left',
] as const;
export type CandidateEventKind = (typeof CANDIDATE_EVENT_KINDS)[number];

/** What the server itself observed; a candidate can never write these. */
export const SERVER_EVENT_KINDS = [
  'interview_live',
  'recording_gap',
  'candidate_disconnected',
  'candidate_reconnected',
  'media_path',
  'media_path_changed',
  'resolution_dropped',
  'resolution_recovered',
  'packet_loss_high',
  'packet_loss_recovered',
  'proctor_joined',
  'proctor_left',
  'interview_ended',
  /** A page reported more than its allowance; the surplus was refused and counted here. */
  'events_dropped',
] as const;
export type ServerEventKind = (typeof SERVER_EVENT_KINDS)[number];

export type TimelineEventKind = CandidateEventKind | ServerEventKind;
export const TIMELINE_EVENT_KINDS: readonly TimelineEventKind[] = [...CANDIDATE_EVENT_KINDS, ...SERVER_EVENT_KINDS];
export type TimelineEventSource = 'candidate' | 'server';

/** A detail value: small and flat, so a page cannot store documents in the log. */
export type TimelineDetailValue = string | number | boolean | null;
export type TimelineDetails = Record<string, TimelineDetailValue>;

/** Bounds on what a candidate's page may attach to one event (checked by the server's schema). */
export const CANDIDATE_DETAIL_LIMITS = { maxKeys: 8, maxKeyLength: 40, maxStringLength: 200 } as const;

/** One entry of an interview's append-only event log, as the API, webhooks and pages see it. */
export interface TimelineEvent {
  /** 1, 2, 3, … per interview, in the order the server stored them. */
  seq: number;
  kind: TimelineEventKind;
  source: TimelineEventSource;
  /** The server's clock when it happened (ISO 8601): this decides the order and the media time. */
  at: string;
  /** The candidate's browser clock for a page's report (ISO 8601); null for the server's own. */
  browserAt: string | null;
  /**
   * Seconds into both recordings (screen.webm and candidate.webm start together and share their
   * cuts) where this happened; null before the recording began. Live it is the service's best
   * estimate; when the files are finalized it is recomputed from their segments' real durations.
   */
  mediaSeconds: number | null;
  details: TimelineDetails;
}

/** Counts by kind: the summary the `interview.completed` webhook carries. */
export type TimelineSummary = Partial<Record<TimelineEventKind, number>>;
