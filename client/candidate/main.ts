// The candidate page: share the entire screen, camera and microphone, and publish them live.
// Nothing is recorded or buffered here: media goes straight to the server, which records it.
import type { JoinResult, TrackName } from '../../server/signaling/protocol.ts';
import { announce, byId, interviewIdFromPath, setText, tokenFromHash } from '../shared/page.ts';
import { ServerClock } from '../shared/serverClock.ts';
import { RequestError, SignalingClient, isTransient } from '../shared/SignalingClient.ts';
import { AudioMixer } from './AudioMixer.ts';
import { CaptureError, captureCameraAndMicrophone, captureScreen } from './capture.ts';
import { Publisher } from './Publisher.ts';

const DENIED_REDIRECT_MS = 5000;

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
const media: { screen: MediaStreamTrack | null; camera: MediaStreamTrack | null; microphone: MediaStreamTrack | null } = {
  screen: null,
  camera: null,
  microphone: null,
};

function wanted(track: TrackName): MediaStreamTrack | null {
  if (track === 'audio') return media.microphone && mixer ? mixer.track : null;
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
      if (next) await current.publish(track, next);
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
    live = joined.interview.status === 'live';
    clock.sync(joined.now, joined.interview.endsAt);
    const created = await Publisher.create(signaling, joined, (state) => {
      setConnection(state === 'connected' ? 'Connected' : state === 'failed' ? 'Media connection failed; retrying…' : `Media ${state}`);
      if (state === 'failed' && mine === session) signaling.socket.disconnect().connect();
      render();
    });
    if (mine !== session) return created.close();
    publisher = created;
    setConnection('Connected to the server');
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

async function onStart(): Promise<void> {
  startButton.disabled = true;
  announce('Waiting for your browser…');
  // Created inside the click so the browser lets it play.
  mixer ??= new AudioMixer();
  try {
    const screen = await captureScreen();
    // This tab stopped while the browser asked (another tab took over, the interview ended):
    // what the candidate just granted must not stay captured.
    if (leaving) return stopTracks(screen.video, screen.audio);
    media.screen = screen.video;
    screen.video.addEventListener('ended', onScreenEnded);
    mixer.setSystemAudio(screen.audio);
    setText(
      'audio-note',
      screen.audio
        ? 'Your computer’s sound and your microphone are sent together.'
        : 'Your screen share has no computer sound: only your microphone is sent.',
    );
    if (!media.camera || !media.microphone) {
      const { camera, microphone } = await captureCameraAndMicrophone();
      if (leaving) return stopTracks(camera, microphone);
      media.camera = camera;
      media.microphone = microphone;
      mixer.setMicrophone(microphone);
      preview.srcObject = new MediaStream([camera]);
    }
    await mixer.resume();
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
  // stays in the fragment (never sent to a server in a URL).
  location.assign(`${endUrl}${location.hash}`);
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
