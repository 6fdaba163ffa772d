// The candidate page: share the entire screen, camera and microphone, and publish them live.
// Nothing is recorded or buffered here: media goes straight to the server, which records it.
import type { JoinResult, ScreenSource, TrackName } from '../../shared/protocol.ts';
import { announce, byId, interviewIdFromPath, setText, tokenFromHash } from '../shared/page.ts';
import { ServerClock } from '../shared/serverClock.ts';
import { RequestError, SignalingClient, isTransient } from '../shared/SignalingClient.ts';
import { AudioMixer } from './AudioMixer.ts';
import { CaptureError, captureCameraAndMicrophone, captureScreen } from './capture.ts';
import { Publisher } from './Publisher.ts';
import { browserFamily, howToShareEntireScreen } from './screenCheck.ts';

const DENIED_REDIRECT_MS = 5000;
/** How long the audio mixer may take to start before the microphone is sent unmixed. */
const MIXER_DEADLINE_MS = 3000;
/** After this long in one browser prompt, the page says where to look for it. */
const PROMPT_HINT_MS = 15_000;

const interviewId = interviewIdFromPath();
const token = tokenFromHash();
const startButton = byId<HTMLButtonElement>('start');
const preview = byId<HTMLVideoElement>('preview');
const clock = new ServerClock();

let join: JoinResult | null = null;
let live = false;
let publisher: Publisher | null = null;
let session = 0;
let leaving = false;
let mixer: AudioMixer | null = null;
/**
 * How the audio is sent: 'mixed' (system audio + microphone through the mixer), 'microphone' (the
 * share has no system audio — always so in Firefox — so the microphone track goes as it is and no
 * AudioContext is needed) or 'unmixed' (there was system audio but the mixer did not start in time:
 * the microphone alone). Null until decided, so a reconnect meanwhile publishes no silent track.
 */
let audioRoute: 'mixed' | 'microphone' | 'unmixed' | null = null;
let screenSource: ScreenSource | undefined;
const media: { screen: MediaStreamTrack | null; camera: MediaStreamTrack | null; microphone: MediaStreamTrack | null } = {
  screen: null,
  camera: null,
  microphone: null,
};

function wanted(track: TrackName): MediaStreamTrack | null {
  if (track === 'audio') {
    if (!media.microphone || audioRoute === null) return null;
    return audioRoute === 'mixed' && mixer ? mixer.track : media.microphone;
  }
  return media[track];
}

// Publishing changes run one at a time, so a reconnect and a re-share cannot interleave.
let publishing: Promise<void> = Promise.resolve();
const published = new Map<TrackName, MediaStreamTrack>();
function syncPublishing(): Promise<void> {
  publishing = publishing.then(async () => {
    const current = publisher;
    if (!current) return;
    for (const track of ['screen', 'camera', 'audio'] as const) {
      const next = wanted(track);
      if (published.get(track) === next) continue;
      if (next) await current.publish(track, next, track === 'screen' ? screenSource : undefined);
      else await current.unpublish(track);
      if (current !== publisher) return;
      if (next) published.set(track, next);
      else published.delete(track);
    }
    render();
  });
  publishing = publishing.catch((error: unknown) => {
    announce(`Could not send your media: ${error instanceof Error ? error.message : String(error)}. Retrying when the connection is back.`, 'error');
  });
  return publishing;
}

function render(): void {
  const connected = publisher?.connectionState === 'connected';
  const allPublished = published.size === 3;
  const recording = live && connected && allPublished;
  const indicator = byId('recording');
  indicator.textContent = recording ? 'Recording' : allPublished ? 'Starting…' : 'Not recording';
  indicator.dataset.on = String(recording);
  const remaining = clock.remainingMs();
  setText('time-left', remaining === null ? (join ? `${ServerClock.format(join.interview.durationSeconds * 1000)} (starts when your media arrives)` : '–') : ServerClock.format(remaining));
}
setInterval(render, 1000);

function setConnection(text: string): void {
  setText('connection', text);
}

function stopTracks(...tracks: Array<MediaStreamTrack | null | undefined>): void {
  for (const track of tracks) track?.stop();
}

function stopEverything(): void {
  leaving = true;
  publisher?.close();
  publisher = null;
  stopTracks(...Object.values(media));
  mixer?.close();
}

async function startSession(): Promise<void> {
  const mine = ++session;
  published.clear();
  publisher?.close();
  publisher = null;
  try {
    const joined = await signaling.request('join', { interviewId });
    if (mine !== session) return;
    join = joined;
    signaling.knowNodes(joined.nodeUrls);
    live = joined.interview.status === 'live';
    clock.sync(joined.now, joined.interview.endsAt);
    const created = await Publisher.create(signaling, joined, (state) => {
      setConnection(state === 'connected' ? 'Connected' : state === 'failed' ? 'Media connection failed; retrying…' : `Media ${state}`);
      if (state === 'failed' && mine === session) signaling.socket.disconnect().connect();
      render();
    });
    if (mine !== session) return created.close();
    publisher = created;
    // Until ICE and DTLS complete nothing is recorded: say so instead of a bare "connected".
    if (created.connectionState !== 'connected') setConnection('Connected to the server; waiting for the media connection…');
    if (!media.screen) startButton.disabled = false;
    await syncPublishing();
  } catch (error) {
    if (mine !== session || leaving) return;
    announce(error instanceof Error ? error.message : String(error), 'error');
    if (error instanceof RequestError && error.code === 'forbidden') signaling.close();
    else if (isTransient(error)) signaling.restartSoon();
  }
}

function whenDenied(error: CaptureError): void {
  const dashboard = join?.publish?.dashboardUrl;
  announce(`${error.message} The interview needs your screen, camera and microphone.${dashboard ? ' Taking you back to your dashboard…' : ''}`, 'error');
  if (!dashboard) return;
  stopEverything();
  signaling.close();
  setTimeout(() => location.assign(dashboard), DENIED_REDIRECT_MS);
}

function onScreenEnded(): void {
  media.screen = null;
  mixer?.setSystemAudio(null);
  void syncPublishing();
  announce('Screen sharing stopped. Please share your entire screen again to continue.', 'error');
  startButton.textContent = 'Share your entire screen again';
  startButton.hidden = false;
  startButton.disabled = false;
  startButton.focus();
}

/**
 * Says what the page waits for while a browser prompt is open, and where to look for the prompt
 * if it stays open long. Returns a function that cancels the hint.
 */
function waitingFor(text: string): () => void {
  announce(text);
  const hint = setTimeout(() => announce(`${text} Still waiting: your browser’s prompt may be behind this window or next to the address bar.`), PROMPT_HINT_MS);
  return () => clearTimeout(hint);
}

async function onStart(): Promise<void> {
  startButton.disabled = true;
  const browser = browserFamily(navigator.userAgent);
  // Created inside the click so the browser lets it play.
  mixer ??= new AudioMixer();
  let stopWaiting = waitingFor(`Waiting for you to choose your entire screen in your browser’s prompt. ${howToShareEntireScreen(browser)}`);
  try {
    const screen = await captureScreen().finally(stopWaiting);
    screenSource = screen.source;
    // This tab stopped while the browser asked (another tab took over, the interview ended):
    // what the candidate just granted must not stay captured.
    if (leaving) return stopTracks(screen.video, screen.audio);
    media.screen = screen.video;
    screen.video.addEventListener('ended', onScreenEnded);
    mixer.setSystemAudio(screen.audio);
    if (!media.camera || !media.microphone) {
      stopWaiting = waitingFor('Waiting for your browser to give this page your camera and microphone (allow them if it asks)…');
      const { camera, microphone } = await captureCameraAndMicrophone().finally(stopWaiting);
      if (leaving) return stopTracks(camera, microphone);
      media.camera = camera;
      media.microphone = microphone;
      mixer.setMicrophone(microphone);
      preview.srcObject = new MediaStream([camera]);
    }
    // A route that works is kept across re-shares (changing it republishes the audio); a share that
    // brings system audio after a microphone-only one tries the mixer.
    if (audioRoute === null || (audioRoute === 'microphone' && screen.audio)) {
      if (!screen.audio) audioRoute = 'microphone';
      else {
        announce('Starting your audio…');
        audioRoute = (await mixer.resume(MIXER_DEADLINE_MS)) ? 'mixed' : 'unmixed';
      }
    }
    setText(
      'audio-note',
      audioRoute === 'unmixed'
        ? 'Your browser could not start mixing sounds in time: only your microphone is sent, without your computer’s sound.'
        : screen.audio
          ? 'Your computer’s sound and your microphone are sent together.'
          : 'Your screen share has no computer sound: only your microphone is sent.',
    );
    if (leaving) return;
    startButton.hidden = true;
    announce('You are sharing your screen, camera and microphone.');
    await syncPublishing();
  } catch (error) {
    if (error instanceof CaptureError && error.reason === 'denied') return whenDenied(error);
    announce(error instanceof Error ? error.message : String(error), 'error');
    if (error instanceof CaptureError && error.reason === 'wrongSurface') startButton.textContent = 'Start again and share your entire screen';
    startButton.disabled = false;
  }
}

/** After a refusal for a limit (too many connections), ask again this much later. */
const LIMIT_RETRY_MS = 5000;

if (!token) {
  announce('This link is incomplete: open the full link you were sent.', 'error');
  throw new Error('no token in the link');
}
const signaling = new SignalingClient(token);
startButton.addEventListener('click', () => void onStart());

signaling.socket.on('connect', () => void startSession());
signaling.socket.on('disconnect', () => {
  session++;
  publisher?.close();
  publisher = null;
  published.clear();
  if (!leaving) setConnection('Reconnecting…');
  render();
});
signaling.socket.on('connect_error', (error) => {
  const code = (error as Error & { data?: { code?: string } }).data?.code;
  if (code === 'unauthorized') {
    setConnection('Not connected');
    announce(`This interview link cannot be used: ${error.message}.`, 'error');
  } else if (code === 'limit_reached') {
    setConnection('Not connected');
    announce(`The server cannot take this connection now: ${error.message}. Trying again in a few seconds…`, 'error');
    setTimeout(() => signaling.socket.connect(), LIMIT_RETRY_MS);
  } else {
    setConnection('Cannot reach the server; retrying…');
  }
});
signaling.on('interviewLive', ({ endsAt, now }) => {
  live = true;
  clock.sync(now, endsAt);
  render();
});
signaling.on('interviewEnded', ({ endUrl }) => {
  stopEverything();
  signaling.close();
  // The end page shows this interview's upload progress: it needs the same role token, which
  // stays in the fragment (never sent to a server in a URL). It is served by the node signalling
  // answered from: in a cluster the page's own node may be gone.
  location.assign(`${new URL(endUrl, signaling.origin).href}${location.hash}`);
});
signaling.on('mediaReset', () => {
  announce('The connection to the media server was reset; reconnecting…');
  signaling.socket.disconnect().connect();
});
signaling.on('linkExpired', () => {
  stopEverything();
  signaling.close();
  setConnection('Closed');
  announce('This interview link has expired. Ask the person who invited you for a new one.', 'error');
});
signaling.on('sessionReplaced', () => {
  stopEverything();
  signaling.close();
  setConnection('Closed');
  announce('This interview was opened in another tab or window, so this one has stopped.', 'error');
});
