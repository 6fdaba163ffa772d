// The message catalogue: every sentence the SDK, our candidate page and the end page show a
// candidate, in plain words, in one place. Refusal codes stay out of these texts (the page shows a code only in
// small print, for support); test/client/sdkContract checks that none slips in.
import type { IngestErrorCode, IngestErrorDetails, TrackRole } from './IngestError.ts';
import type { BrowserFamily } from './screenCheck.ts';

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

/** A missing capability (capabilities.ts) in words. */
export function capabilityWords(capability: string): string {
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

/** What to pick, in the words of that browser's own sharing prompt. */
export function howToShareEntireScreen(browser: BrowserFamily): string {
  switch (browser) {
    case 'chromium':
      return 'In Chrome’s sharing dialog, open the “Entire screen” tab, click your screen and press “Share”.';
    case 'edge':
      return 'In Edge’s sharing dialog, open the “Entire screen” tab, click your screen and press “Share”.';
    case 'firefox':
      return 'In Firefox’s prompt, choose your screen (“Entire Screen” or your screen’s name, not a window) from the list and press “Allow”.';
    case 'safari':
      return 'When Safari asks, choose “Share Entire Screen” (or click the screen itself), not a window.';
    default:
      return 'When your browser asks what to share, choose your entire screen, not a tab or a window.';
  }
}

/** Where the candidate's computer keeps its own switch for what the browser may capture. */
export type DesktopSystem = 'macos' | 'windows' | 'other';

export function desktopSystem(userAgent: string): DesktopSystem {
  if (/Mac OS X|Macintosh/.test(userAgent)) return 'macos';
  if (/Windows/.test(userAgent)) return 'windows';
  return 'other';
}

/** How to lift a block on `device` in this browser, in the words of its own address bar. */
export function howToUnblock(browser: BrowserFamily, device: TrackRole): string {
  if (device === 'screen') {
    return 'Press Try again and, when your browser asks what to share, choose your entire screen and press the button to share it.';
  }
  const what = 'your camera and microphone';
  switch (browser) {
    case 'chromium':
    case 'edge':
      return `Click the camera icon (or the site settings icon) at the left of the address bar, choose “Allow” for ${what}, then press Try again.`;
    case 'firefox':
      return `Click the crossed-out camera icon at the left of the address bar, remove the block on ${what} (the ✕ next to each), then press Try again.`;
    case 'safari':
      return `In Safari, choose Safari → Settings for This Website… (or the “aA” menu on an iPad), set Camera and Microphone to “Allow”, then press Try again.`;
    default:
      return `Open this site's settings in your browser (usually from the icon at the left of the address bar), allow ${what}, then press Try again.`;
  }
}

/** The computer's own privacy switch, which blocks a browser even when the site is allowed. */
export function howToUnblockInSystem(system: DesktopSystem, device: TrackRole): string | null {
  if (system === 'macos') {
    const pane = device === 'screen' ? 'Screen & System Audio Recording' : device === 'camera' ? 'Camera' : 'Microphone';
    return `On a Mac, also open System Settings → Privacy & Security → ${pane} and switch your browser on (the browser may ask to restart).`;
  }
  if (system === 'windows' && device !== 'screen') {
    return 'On Windows, also open Settings → Privacy & security → Camera (and Microphone) and let desktop apps use them.';
  }
  return null;
}

/** Our candidate page's own sentences (the SDK's refusals are messageFor's). */
export const CANDIDATE_TEXT = {
  linkIncomplete: 'This link is incomplete: open the full link you were sent.',
  waitingForScreen: 'Waiting for you to choose your entire screen in your browser’s prompt.',
  waitingForCamera: 'Waiting for your browser to give this page your camera and microphone (allow them if it asks)…',
  promptHidden: 'Still waiting: your browser’s prompt may be behind this window or next to the address bar.',
  startingAudio: 'Starting your audio…',
  sharing: 'You are sharing your screen, camera and microphone.',
  reconnecting: 'The connection to the server was lost; reconnecting…',
  needsAll: 'The interview needs your screen, camera and microphone.',
  startAgainWholeScreen: 'Start again and share your entire screen',
  shareAgain: 'Share your entire screen again',
  audioMixed: 'Your computer’s sound and your microphone are sent together.',
  audioMicrophoneOnly: 'Your screen share has no computer sound: only your microphone is sent.',
  audioUnmixed: 'Your browser could not start mixing sounds in time: only your microphone is sent, without your computer’s sound.',
  connected: 'Connected',
  connecting: 'Connecting…',
  waitingForMedia: 'Connected to the server; waiting for the media connection…',
  mediaInterrupted: 'Media connection interrupted; reconnecting…',
  reconnectingShort: 'Reconnecting…',
  unreachable: 'Cannot reach the server; retrying…',
  notConnected: 'Not connected',
  closed: 'Closed',
  recording: 'Recording',
  starting: 'Starting…',
  notRecording: 'Not recording',
  timeStartsWithMedia: 'Starts when your media arrives.',
  notRecordingReconnecting: 'Not recording (reconnecting)',
  supportCode: 'Code for support:',
  linkCopied: 'The link is copied: paste it into Chrome, Edge or Firefox on a computer.',
  linkNotCopied: 'Copying did not work here: select the address in the address bar and copy it.',
  missingInWords: (missing: string) => `This browser has no ${missing}.`,
} as const;

/** The end page's sentences (client/end/main.ts). */
export const END_TEXT = {
  screenRecording: 'Screen recording',
  cameraRecording: 'Camera recording',
  saved: 'saved',
  uploading: (percent: number) => `uploading, ${percent}%`,
  uploadFailed: 'upload failed',
  preparing: 'preparing',
  nothingRecorded: 'The interview ended before any media was recorded.',
  recordingsSaved: 'Your recordings are saved.',
  takenBackIn: (seconds: number) => `You will be taken back in ${seconds} seconds.`,
  statusSaving: 'Saving your recordings…',
  statusSaved: 'Saved',
  statusChecking: 'Checking…',
  statusNotSavedYet: 'Not saved yet',
  statusNotSaved: 'Not saved',
  retryingAutomatically: (when: string) => `Your recordings could not be saved yet. The service tries again automatically (next try around ${when}). They are kept on the server; you can close this page.`,
  notSavedAskSupport: 'Your recordings could not be saved. They are kept on the server, and support can have them saved again.',
  forSupport: 'For support:',
  tryingAgain: 'Trying again to save your recordings…',
  missingToken: 'This page needs the link you were given; it is missing its access token.',
} as const;
