// Every refusal the SDK reports, as a typed code with a message in plain words (from the message
// catalogue, messages.ts). A host page shows the message (or its own words for the code); our
// candidate page shows the same messages. The codes are a contract: they are documented in the
// README and never renamed.
import { messageFor } from './messages.ts';

export const INGEST_ERROR_CODES = [
  /** The browser lacks something the interview needs (details.missing names what). */
  'unsupported_browser',
  /** The candidate or the browser refused the screen, camera or microphone (details.device). */
  'permission_denied',
  'no_camera',
  'no_microphone',
  /** A device exists but could not be started (in use by another program, a driver problem). */
  'device_failed',
  /** A tab or a window was shared instead of the entire screen. */
  'not_entire_screen',
  /** The stream given as the screen is not a screen capture (a camera, say). */
  'not_a_screen',
  /** A stream the interview needs was not given (details.track). */
  'missing_stream',
  /** A published track ended (details.track); publish a new one to go on. */
  'track_ended',
  /** The candidate stopped sharing the screen; publish a new screen to go on. */
  'screen_share_stopped',
  /** The link is malformed, altered, or names an interview that does not exist. */
  'link_invalid',
  'link_expired',
  /** The interview has already ended (details.status). */
  'interview_over',
  /** Too many connections from this network, or too many proctors: the SDK tries again. */
  'limit_reached',
  /** The service has no room for another interview now: the SDK tries again. */
  'at_capacity',
  /** The interview was opened in another tab or window; this one stopped. */
  'session_replaced',
  /** The service cannot be reached (network, or this page's origin is not allowed): the SDK keeps trying. */
  'unreachable',
  /** The media connection failed: the SDK reconnects. */
  'media_failed',
] as const;

export type IngestErrorCode = (typeof INGEST_ERROR_CODES)[number];

/** One of the candidate's three sources, as refusals name them. */
export type TrackRole = 'screen' | 'camera' | 'microphone';

export interface IngestErrorDetails {
  /** unsupported_browser: the missing capabilities, e.g. ['webrtc', 'screen-capture']. */
  missing?: string[];
  device?: TrackRole;
  track?: TrackRole;
  /** interview_over: the interview's status. */
  status?: string;
  /** not_entire_screen: what was shared instead ('a browser tab', 'a window'). */
  shared?: string;
  /** What the browser or the server said, for support (never shown as the message). */
  cause?: string;
}

/** A refusal: `code` is for programs, `message` for people. */
export class IngestError extends Error {
  readonly code: IngestErrorCode;
  readonly details: IngestErrorDetails;
  /**
   * True when this tab's session is over (a bad or expired link, the interview ended, another tab
   * took over, an unsupported browser). Otherwise the session goes on: the SDK retries what it can
   * (limits, capacity, the network) and the host acts on the rest (publish a new screen, say).
   */
  readonly fatal: boolean;

  constructor(code: IngestErrorCode, details: IngestErrorDetails = {}, options: { fatal?: boolean; message?: string } = {}) {
    super(options.message ?? messageFor(code, details));
    this.name = 'IngestError';
    this.code = code;
    this.details = details;
    this.fatal = options.fatal ?? SESSION_ENDING.has(code);
  }
}

const SESSION_ENDING: ReadonlySet<IngestErrorCode> = new Set(['unsupported_browser', 'link_invalid', 'link_expired', 'interview_over', 'session_replaced']);
