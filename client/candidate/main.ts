// The candidate page: share the entire screen, camera and microphone, and publish them live.
// Built on the browser SDK (client/sdk/) exactly as a host page would be: the SDK joins, captures,
// publishes and keeps publishing; this page only puts its events into words.
import { ServerClock } from '../shared/serverClock.ts';
import { announce, byId, setText } from '../shared/page.ts';
import { join, type IngestError } from '../sdk/index.ts';
import { browserFamily, howToShareEntireScreen } from '../sdk/screenCheck.ts';

const DENIED_REDIRECT_MS = 5000;
/** After this long in one browser prompt, the page says where to look for it. */
const PROMPT_HINT_MS = 15_000;

const startButton = byId<HTMLButtonElement>('start');
const preview = byId<HTMLVideoElement>('preview');

const session = join(location.href);
let sharing = false;
let recording = false;

function render(): void {
  const indicator = byId('recording');
  indicator.textContent = recording ? 'Recording' : sharing ? 'Starting…' : 'Not recording';
  indicator.dataset.on = String(recording);
  const remaining = session.remainingMs();
  const duration = session.durationSeconds;
  setText('time-left', remaining !== null ? ServerClock.format(remaining) : duration !== null ? `${ServerClock.format(duration * 1000)} (starts when your media arrives)` : '–');
}
setInterval(render, 1000);

function setConnection(text: string): void {
  setText('connection', text);
}

/** Says what the page waits for while a browser prompt is open, and where to look if it stays open long. */
let hint: ReturnType<typeof setTimeout> | undefined;
function waitingFor(text: string): void {
  clearTimeout(hint);
  announce(text);
  hint = setTimeout(() => announce(`${text} Still waiting: your browser’s prompt may be behind this window or next to the address bar.`), PROMPT_HINT_MS);
}

function whenDenied(error: IngestError): void {
  const dashboard = session.dashboardUrl;
  announce(`${error.message} The interview needs your screen, camera and microphone.${dashboard ? ' Taking you back to your dashboard…' : ''}`, 'error');
  if (!dashboard) return;
  session.leave();
  setTimeout(() => location.assign(dashboard), DENIED_REDIRECT_MS);
}

async function onStart(): Promise<void> {
  startButton.disabled = true;
  const browser = browserFamily(navigator.userAgent);
  try {
    await session.capture({
      onStep: (step) => {
        if (step === 'screen') waitingFor(`Waiting for you to choose your entire screen in your browser’s prompt. ${howToShareEntireScreen(browser)}`);
        else if (step === 'camera and microphone') waitingFor('Waiting for your browser to give this page your camera and microphone (allow them if it asks)…');
        else {
          clearTimeout(hint);
          announce('Starting your audio…');
        }
      },
    });
  } catch (error) {
    clearTimeout(hint);
    const refusal = error as IngestError;
    if (refusal.code === 'permission_denied') return whenDenied(refusal);
    announce(refusal.message, 'error');
    if (refusal.code === 'not_entire_screen' || refusal.code === 'not_a_screen') startButton.textContent = 'Start again and share your entire screen';
    startButton.disabled = false;
    return;
  }
  clearTimeout(hint);
  if (session.state === 'closed' || session.state === 'ended') return;
  sharing = true;
  startButton.hidden = true;
  announce('You are sharing your screen, camera and microphone.');
  render();
}

startButton.addEventListener('click', () => void onStart());

session.on('state', ({ state }) => {
  if (state === 'ready' || state === 'live') {
    if (!sharing) startButton.disabled = false;
  } else if (state === 'reconnecting' || state === 'moved') {
    setConnection('Reconnecting…');
    if (state === 'reconnecting' && sharing) announce('The connection to the server was lost; reconnecting…');
  }
  render();
});
session.on('media', (state) => {
  setConnection(
    state === 'connected'
      ? 'Connected'
      : state === 'failed'
        ? 'Media connection failed; retrying…'
        : state === 'disconnected'
          ? 'Media connection interrupted; reconnecting…'
          : 'Connected to the server; waiting for the media connection…',
  );
});
session.on('recording', (now) => {
  recording = now;
  if (now && sharing) announce('You are sharing your screen, camera and microphone.');
  render();
});
session.on('audio', (route) => {
  setText(
    'audio-note',
    route === 'unmixed'
      ? 'Your browser could not start mixing sounds in time: only your microphone is sent, without your computer’s sound.'
      : route === 'mixed'
        ? 'Your computer’s sound and your microphone are sent together.'
        : 'Your screen share has no computer sound: only your microphone is sent.',
  );
});
session.on('error', (error) => {
  if (error.code === 'screen_share_stopped') {
    sharing = false;
    announce(error.message, 'error');
    startButton.textContent = 'Share your entire screen again';
    startButton.hidden = false;
    startButton.disabled = false;
    startButton.focus();
  } else if (error.code === 'unreachable') {
    setConnection('Cannot reach the server; retrying…');
  } else if (error.code === 'media_failed') {
    setConnection(error.message);
  } else {
    if (error.fatal || error.code === 'limit_reached' || error.code === 'at_capacity') setConnection(error.fatal ? 'Closed' : 'Not connected');
    announce(error.message, 'error');
  }
  render();
});
session.on('ended', ({ endUrl }) => {
  // The end page shows this interview's upload progress: it needs the same role token, which
  // stays in the fragment (never sent to a server in a URL).
  location.assign(`${endUrl}${location.hash}`);
});
// The preview shows the camera the SDK captured.
session.on('audio', () => {
  const camera = session.cameraTrack;
  if (camera && (preview.srcObject as MediaStream | null)?.getVideoTracks()[0] !== camera) preview.srcObject = new MediaStream([camera]);
});
