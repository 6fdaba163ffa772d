// Every refusal the SDK reports, as a typed code with a message in plain words. A host page shows
// the message (or its own words for the code); our candidate page shows the same messages. The
// codes are a contract: they are documented in the README and never renamed.

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

const DEVICE_WORDS: Record<TrackRole, string> = { screen: 'screen', camera: 'camera', microphone: 'microphone' };

/** The plain-words message of each code; details make it precise where they can. */
export function messageFor(code: IngestErrorCode, details: IngestErrorDetails = {}): string {
  switch (code) {
    case 'unsupported_browser':
      return `This browser cannot take part in the interview${details.missing?.length ? ` (it has no ${details.missing.map(capabilityWords).join(', no ')})` : ''}. Open this link on a computer in Chrome, Edge or Firefox.`;
    case 'permission_denied':
      return `Permission to use your ${DEVICE_WORDS[details.device ?? 'screen']} was refused.`;
    case 'no_camera':
      return 'No camera was found. Connect a camera and try again.';
    case 'no_microphone':
      return 'No microphone was found. Connect a microphone and try again.';
    case 'device_failed':
      return `Your ${DEVICE_WORDS[details.device ?? 'camera']} could not be started. Close other programs that may be using it and try again.`;
    case 'not_entire_screen':
      return `You shared ${details.shared ?? 'a tab or a window'}, not your entire screen.`;
    case 'not_a_screen':
      return 'The stream given as the screen is not a screen share.';
    case 'missing_stream':
      return `The interview needs your ${DEVICE_WORDS[details.track ?? 'screen']}, and it was not given.`;
    case 'track_ended':
      return `Your ${DEVICE_WORDS[details.track ?? 'camera']} stopped sending.`;
    case 'screen_share_stopped':
      return 'Screen sharing stopped. Please share your entire screen again to continue.';
    case 'link_invalid':
      return 'This interview link cannot be used. Open the full link you were sent, or ask for a new one.';
    case 'link_expired':
      return 'This interview link has expired. Ask the person who invited you for a new one.';
    case 'interview_over':
      return 'This interview has already ended.';
    case 'limit_reached':
      return 'The server cannot take this connection now. Trying again in a few seconds…';
    case 'at_capacity':
      return 'The interview service is busy right now. Trying again in a few seconds…';
    case 'session_replaced':
      return 'This interview was opened in another tab or window, so this one has stopped.';
    case 'unreachable':
      return 'Cannot reach the interview service; retrying…';
    case 'media_failed':
      return 'Media connection failed; retrying…';
  }
}

function capabilityWords(capability: string): string {
  switch (capability) {
    case 'secure-context':
      return 'secure (https) connection';
    case 'screen-capture':
      return 'screen sharing';
    case 'webrtc':
      return 'live video (WebRTC)';
    case 'video-codec':
      return 'video encoder the service can record';
    case 'camera':
      return 'camera';
    case 'microphone':
      return 'microphone';
    default:
      return capability;
  }
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
