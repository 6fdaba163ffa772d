// The proctor page: the candidate's screen, camera and audio live, the interview's status and
// time left, connection quality, and the button that ends the interview.
import type { JoinResult, ScreenSource, TrackName } from '../../shared/protocol.ts';
import { withDeadline } from '../shared/deadline.ts';
import { announce, byId, interviewIdFromPath, setText, tokenFromHash } from '../shared/page.ts';
import { ServerClock } from '../shared/serverClock.ts';
import { RequestError, SignalingClient, isTransient } from '../shared/SignalingClient.ts';
import { EventList } from './EventList.ts';
import { Viewer } from './Viewer.ts';

const STATS_INTERVAL_MS = 2000;
/** A stats round that takes longer is dropped (a wedged peer connection may never answer). */
const STATS_DEADLINE_MS = 5000;

const interviewId = interviewIdFromPath();
const token = tokenFromHash();
const clock = new ServerClock();
const screenVideo = byId<HTMLVideoElement>('screen');
const cameraVideo = byId<HTMLVideoElement>('camera');
const audio = byId<HTMLAudioElement>('audio');
const soundButton = byId<HTMLButtonElement>('sound');
const endButton = byId<HTMLButtonElement>('end');
const confirmBox = byId('end-confirm');
const events = new EventList(byId<HTMLOListElement>('events'), byId('events-empty'));

let join: JoinResult | null = null;
let status: JoinResult['interview']['status'] | 'disconnected' = 'disconnected';
let viewer: Viewer | null = null;
let session = 0;
let ended = false;
// Producers announced while a session is still being set up (after the join was sent, before the
// viewer exists): the join's track list may predate them, so they are consumed once it is ready.
const announcedDuringSetup = new Set<TrackName>();
const tracks = new Set<TrackName>();

function elementFor(track: TrackName): HTMLMediaElement {
  return track === 'screen' ? screenVideo : track === 'camera' ? cameraVideo : audio;
}

function watchFirstFrame(track: 'screen' | 'camera', video: HTMLVideoElement): void {
  // Marks let tests and curious proctors read the time to first frame from the Performance API.
  video.requestVideoFrameCallback(() => performance.mark(`first-frame-${track}`));
}

function attach(track: TrackName, mediaTrack: MediaStreamTrack): void {
  tracks.add(track);
  const element = elementFor(track);
  element.srcObject = new MediaStream([mediaTrack]);
  if (track !== 'audio') watchFirstFrame(track, element as HTMLVideoElement);
  element.play().catch(() => {
    // Browsers refuse sound until the page has had a click: offer one.
    if (track === 'audio') soundButton.hidden = false;
  });
  render();
}

function detach(track: TrackName): void {
  tracks.delete(track);
  elementFor(track).srcObject = null;
  render();
}

function render(): void {
  const publishing = tracks.size === 3 ? 'publishing screen, camera and audio' : tracks.size === 0 ? 'not publishing yet' : `publishing ${[...tracks].join(', ')} only`;
  const statusText =
    ended ? 'Ended' : status === 'disconnected' ? 'Disconnected from the server' : `${status === 'live' ? 'Live' : status === 'created' ? 'Waiting for the candidate' : status}; candidate ${publishing}`;
  setText('status', statusText);
  const remaining = clock.remainingMs();
  setText('time-left', remaining === null ? (join ? `${ServerClock.format(join.interview.durationSeconds * 1000)} (not started)` : '–') : ServerClock.format(remaining));
}
setInterval(render, 1000);

async function updateQuality(): Promise<void> {
  if (!viewer || ended) return;
  try {
    const [local, server] = await withDeadline(Promise.all([viewer.localStats(), signaling.request('getStats', {})]), STATS_DEADLINE_MS, 'connection statistics');
    const parts: string[] = [];
    let worst = 10;
    for (const stat of server.tracks) {
      const score = Math.min(stat.score, stat.producerScore ?? 10);
      worst = Math.min(worst, score);
      const received = local.get(stat.track);
      const fps = received?.framesPerSecond ? `, ${Math.round(received.framesPerSecond)} fps` : '';
      parts.push(`${stat.track} ${(stat.bitrate / 1e6).toFixed(2)} Mbit/s${fps}, score ${score}/10`);
    }
    const verdict = server.tracks.length === 0 ? 'no media' : worst >= 8 ? 'good' : worst >= 5 ? 'fair' : 'poor';
    const rtt = local.rttMs !== undefined ? `; round trip ${Math.round(local.rttMs)} ms` : '';
    const quality = byId('quality');
    quality.textContent = `${verdict}${parts.length ? ` — ${parts.join('; ')}` : ''}${rtt}`;
    quality.dataset.verdict = verdict;
  } catch {
    // Stats are best effort; the next tick tries again.
  }
}
setInterval(() => void updateQuality(), STATS_INTERVAL_MS);

/** What the candidate's browser could tell about the shared screen (Firefox cannot prove a whole screen). */
function showScreenSource(source: ScreenSource | null): void {
  const element = byId('screen-source');
  element.dataset.verdict = source?.verdict ?? 'none';
  element.textContent =
    source === null
      ? '–'
      : source.verdict === 'monitor'
        ? 'Entire screen'
        : 'Unverified: the candidate’s browser does not say whether this is the entire screen or a window';
  element.title = source?.evidence ?? '';
}

async function startSession(): Promise<void> {
  const mine = ++session;
  viewer?.close();
  viewer = null;
  announcedDuringSetup.clear();
  try {
    const joined = await signaling.request('join', { interviewId });
    if (mine !== session) return;
    join = joined;
    signaling.knowNodes(joined.nodeUrls);
    status = joined.interview.status;
    clock.sync(joined.now, joined.interview.endsAt);
    const name = joined.interview.candidateName;
    setText('candidate', name ? `Candidate: ${name}` : 'Candidate');
    showScreenSource(joined.interview.screenSource);
    events.add(joined.events);
    performance.mark('joined');
    const created = await Viewer.create(signaling, joined, {
      onTrack: (track, mediaTrack) => mine === session && attach(track, mediaTrack),
      onTrackEnded: (track) => mine === session && detach(track),
      onState: (state) => {
        if (state === 'connected') performance.mark('media-connected');
        setText('connection', state === 'connected' ? 'Connected' : state === 'failed' ? 'Media connection failed; reconnecting…' : `Media ${state}`);
        if (state === 'failed' && mine === session) signaling.restartSoon(0);
      },
    });
    if (mine !== session) return created.close();
    viewer = created;
    // The join's tracks and any announced since (the producer may be newer than the join's list).
    for (const track of new Set([...joined.tracks, ...announcedDuringSetup])) consume(track);
    announcedDuringSetup.clear();
    setText('connection', 'Connected to the server');
    endButton.disabled = false;
    render();
  } catch (error) {
    if (mine !== session || ended) return;
    announce(error instanceof Error ? error.message : String(error), 'error');
    if (isTransient(error)) signaling.restartSoon();
  }
}

function consume(track: TrackName): void {
  if (!viewer) {
    announcedDuringSetup.add(track);
    return;
  }
  const asked = viewer;
  asked.consume(track).catch((error: unknown) => {
    // A producer that went away meanwhile is announced again when the candidate republishes it;
    // a consume of a session that has since been replaced is nobody's concern.
    if (asked !== viewer || (error instanceof RequestError && error.code === 'not_found')) return;
    announce(`Could not show ${track}: ${error instanceof Error ? error.message : String(error)}`, 'error');
  });
}

/** After a refusal for a limit (too many proctors), ask again this much later. */
const LIMIT_RETRY_MS = 5000;

if (!token) {
  announce('This link is incomplete: open the full proctor link.', 'error');
  throw new Error('no token in the link');
}
const signaling = new SignalingClient(token);

signaling.socket.on('connect', () => void startSession());
signaling.socket.on('disconnect', () => {
  session++;
  viewer?.close();
  viewer = null;
  for (const track of [...tracks]) detach(track);
  if (!ended) status = 'disconnected';
  render();
});
signaling.socket.on('connect_error', (error) => {
  const code = (error as Error & { data?: { code?: string } }).data?.code;
  setText('connection', code === 'unauthorized' || code === 'limit_reached' ? 'Not connected' : 'Cannot reach the server; retrying…');
  if (code === 'unauthorized') announce(`This proctor link cannot be used: ${error.message}.`, 'error');
  if (code === 'limit_reached') {
    announce(`Cannot watch right now: ${error.message}. Trying again in a few seconds…`, 'error');
    setTimeout(() => signaling.socket.connect(), LIMIT_RETRY_MS);
  }
});
signaling.on('linkExpired', () => {
  ended = true;
  viewer?.close();
  viewer = null;
  for (const track of [...tracks]) detach(track);
  endButton.disabled = true;
  signaling.close();
  announce('This proctor link has expired. Open the interview again from the admin page for a new link.', 'error');
  render();
});
signaling.on('producerAdded', ({ track, screenSource }) => {
  if (screenSource) showScreenSource(screenSource);
  consume(track);
});
signaling.on('timelineEvent', (event) => events.add([event]));
signaling.on('consumerClosed', ({ consumerId, track }) => viewer?.dropConsumer(consumerId, track));
// A drop in quality shows at once instead of at the next periodic refresh.
signaling.on('consumerScore', ({ score, producerScore }) => {
  if (Math.min(score, producerScore) < 8) void updateQuality();
});
signaling.on('interviewLive', ({ endsAt, now }) => {
  status = 'live';
  clock.sync(now, endsAt);
  render();
});
signaling.on('interviewEnded', ({ cause }) => {
  ended = true;
  viewer?.close();
  viewer = null;
  for (const track of [...tracks]) detach(track);
  endButton.disabled = true;
  confirmBox.hidden = true;
  const why = { proctor: ' (ended by a proctor)', timer: ' (time is up)', admin: ' (ended by an administrator)' } as const;
  announce(`The interview has ended${cause ? why[cause] : ''}.`);
  signaling.close();
  render();
});
signaling.on('mediaReset', () => {
  announce('The media server was reset; reconnecting…');
  signaling.socket.disconnect().connect();
});

soundButton.addEventListener('click', () => {
  void audio.play().then(() => (soundButton.hidden = true));
});
endButton.addEventListener('click', () => {
  confirmBox.hidden = false;
  byId<HTMLButtonElement>('end-yes').focus();
});
byId('end-no').addEventListener('click', () => {
  confirmBox.hidden = true;
  endButton.focus();
});
byId('end-yes').addEventListener('click', () => {
  confirmBox.hidden = true;
  endButton.disabled = true;
  signaling.request('endInterview', {}).catch((error: unknown) => {
    endButton.disabled = false;
    announce(`Could not end the interview: ${error instanceof Error ? error.message : String(error)}`, 'error');
  });
});
