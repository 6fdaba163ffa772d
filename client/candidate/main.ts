// The candidate page: share the entire screen, camera and microphone, and publish them live.
// Built on the browser SDK (client/sdk/) exactly as a host page would be: the SDK checks the
// browser, joins, captures, publishes and keeps publishing; this page only puts its events into
// words — every sentence from the message catalogue (client/sdk/messages.ts), a refusal's code
// only in small print, for support.
import { ServerClock } from '../shared/serverClock.ts';
import { announce, byId, setText } from '../shared/page.ts';
import { join, type IngestError } from '../sdk/index.ts';
import { CANDIDATE_TEXT as TEXT, capabilityWords, desktopSystem, howToShareEntireScreen, howToUnblock, howToUnblockInSystem } from '../sdk/messages.ts';
import { browserFamily } from '../sdk/screenCheck.ts';

/** After this long in one browser prompt, the page says where to look for it. */
const PROMPT_HINT_MS = 15_000;

const startButton = byId<HTMLButtonElement>('start');
const preview = byId<HTMLVideoElement>('preview');
const browser = browserFamily(navigator.userAgent);

const session = join(location.href);
let sharing = false;

function render(): void {
  const { recording, state } = session;
  const reconnecting = state === 'reconnecting' || state === 'moved';
  setText('recording', recording ? TEXT.recording : reconnecting && sharing ? TEXT.notRecordingReconnecting : sharing ? TEXT.starting : TEXT.notRecording);
  byId('recording').dataset.on = String(recording);
  const remaining = session.remainingMs();
  const duration = session.durationSeconds;
  setText('time-left', remaining !== null ? ServerClock.format(remaining) : duration !== null ? ServerClock.format(duration * 1000) : '–');
  setText('time-note', remaining === null && duration !== null ? TEXT.timeStartsWithMedia : '');
}
setInterval(render, 1000);

function setConnection(text: string): void {
  setText('connection', text);
}

/** A message for the candidate; a refusal's code goes in the small print, for support. */
function tell(text: string, tone: 'info' | 'error' = 'info', code?: string): void {
  announce(text, tone);
  const support = byId('support-code');
  support.textContent = code ? `${TEXT.supportCode} ${code}` : '';
  support.hidden = !code;
}

/** Says what the page waits for while a browser prompt is open, and where to look if it stays open long. */
let hint: ReturnType<typeof setTimeout> | undefined;
function waitingFor(text: string): void {
  clearTimeout(hint);
  tell(text);
  hint = setTimeout(() => tell(`${text} ${TEXT.promptHidden}`), PROMPT_HINT_MS);
}

/**
 * A refused permission: how to lift the block in this browser (and this computer's own privacy
 * switch), a Try again button, and a way back to the dashboard for a candidate who chooses to leave.
 */
function showBlocked(error: IngestError): void {
  const device = error.details.device ?? 'screen';
  tell(`${error.message} ${TEXT.needsAll}`, 'error', error.code);
  setText('blocked-how', howToUnblock(browser, device));
  const system = howToUnblockInSystem(desktopSystem(navigator.userAgent), device);
  const os = byId('blocked-os');
  os.textContent = system ?? '';
  os.hidden = system === null;
  const leave = byId<HTMLAnchorElement>('leave');
  const dashboard = session.dashboardUrl;
  if (dashboard) leave.href = dashboard;
  leave.hidden = !dashboard;
  byId('blocked').hidden = false;
  startButton.hidden = true;
  byId('try-again').focus();
}

/** A browser that cannot take part: what it lacks, what to use instead, and the link to copy. */
function showUnsupported(error: IngestError): void {
  const missing = (error.details.missing ?? []).map(capabilityWords).join(', no ');
  tell(error.message, 'error', error.code);
  setText('unsupported-what', TEXT.missingInWords(missing || 'way to share the screen and send live video'));
  byId('unsupported').hidden = false;
  // The panel is all there is to read: nothing here can start.
  for (const id of ['intro', 'status-panel', 'preview-figure', 'start']) byId(id).hidden = true;
  setConnection(TEXT.notConnected);
}

async function onStart(): Promise<void> {
  startButton.disabled = true;
  byId('blocked').hidden = true;
  try {
    await session.capture({
      onStep: (step) => {
        if (step === 'screen') waitingFor(`${TEXT.waitingForScreen} ${howToShareEntireScreen(browser)}`);
        else if (step === 'camera and microphone') waitingFor(TEXT.waitingForCamera);
        else {
          clearTimeout(hint);
          tell(TEXT.startingAudio);
        }
      },
    });
  } catch (error) {
    clearTimeout(hint);
    const refusal = error as IngestError;
    startButton.disabled = false;
    if (refusal.code === 'permission_denied') return showBlocked(refusal);
    tell(refusal.message, 'error', refusal.code);
    if (refusal.code === 'not_entire_screen' || refusal.code === 'not_a_screen') startButton.textContent = TEXT.startAgainWholeScreen;
    return;
  }
  clearTimeout(hint);
  if (session.state === 'closed' || session.state === 'ended') return;
  sharing = true;
  startButton.hidden = true;
  tell(TEXT.sharing);
  render();
}

startButton.addEventListener('click', () => void onStart());
byId('try-again').addEventListener('click', () => {
  startButton.hidden = false;
  void onStart();
});
byId('copy-link').addEventListener('click', () => {
  navigator.clipboard?.writeText(location.href).then(
    () => setText('copy-result', TEXT.linkCopied),
    () => setText('copy-result', TEXT.linkNotCopied),
  ) ?? setText('copy-result', TEXT.linkNotCopied);
});

session.on('state', ({ state }) => {
  if (state === 'ready' || state === 'live') {
    if (!sharing) startButton.disabled = false;
  } else if (state === 'reconnecting' || state === 'moved') {
    setConnection(TEXT.reconnectingShort);
    if (state === 'reconnecting' && sharing) tell(TEXT.reconnecting);
  }
  render();
});
session.on('media', (state) => {
  setConnection(state === 'connected' ? TEXT.connected : state === 'disconnected' ? TEXT.mediaInterrupted : state === 'failed' ? TEXT.unreachable : TEXT.waitingForMedia);
});
session.on('recording', (now) => {
  if (now && sharing) tell(TEXT.sharing);
  render();
});
session.on('audio', (route) => {
  setText('audio-note', route === 'unmixed' ? TEXT.audioUnmixed : route === 'mixed' ? TEXT.audioMixed : TEXT.audioMicrophoneOnly);
  // The preview shows the camera the SDK captured.
  const camera = session.cameraTrack;
  if (camera && (preview.srcObject as MediaStream | null)?.getVideoTracks()[0] !== camera) preview.srcObject = new MediaStream([camera]);
});
session.on('error', (error) => {
  if (error.code === 'unsupported_browser') return showUnsupported(error);
  if (error.code === 'screen_share_stopped') {
    sharing = false;
    tell(error.message, 'error');
    startButton.textContent = TEXT.shareAgain;
    startButton.hidden = false;
    startButton.disabled = false;
    startButton.focus();
  } else if (error.code === 'unreachable' || error.code === 'media_failed') {
    setConnection(TEXT.unreachable);
  } else {
    if (error.fatal || error.code === 'limit_reached' || error.code === 'at_capacity') setConnection(error.fatal ? TEXT.closed : TEXT.notConnected);
    tell(error.message, 'error', error.code);
  }
  render();
});
session.on('ended', ({ endUrl }) => {
  // The end page shows this interview's upload progress: it needs the same role token, which
  // stays in the fragment (never sent to a server in a URL).
  location.assign(`${endUrl}${location.hash}`);
});
