// The review page for proctors and admins: both recordings side by side, one control, in sync.
import { announce, byId, interviewIdFromPath, setText, tokenFromHash } from '../shared/page.ts';
import { fetchRecordingStatus, followRecording, type FilmstripView, type RecordingStatus } from '../shared/recordingStatus.ts';
import type { TimelineEvent } from '../../shared/timeline.ts';
import { clockWords } from '../shared/timelineWords.ts';
import { showFilmstrip } from './Filmstrip.ts';
import { SyncedPlayback } from './SyncedPlayback.ts';
import { Timeline, type TimelineGap } from './Timeline.ts';

/** The interview's status in words for the reviewer. */
const statusWords: Record<RecordingStatus['status'], string> = {
  created: 'Not started yet: nothing is recorded',
  live: 'Live now: the recordings are saved when the interview ends',
  finalizing: 'Saving the recordings…',
  completed: 'Recorded',
  failed: 'Saving the recordings failed',
};

function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** The interview's events (GET /session/:id/events, the proctor's token); empty when they cannot be read. */
async function fetchEvents(interviewId: string, token: string): Promise<TimelineEvent[]> {
  try {
    const response = await fetch(`/session/${encodeURIComponent(interviewId)}/events`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (!response.ok) return [];
    const body = (await response.json()) as TimelineEvent[] | { events?: TimelineEvent[] };
    return Array.isArray(body) ? body : (body.events ?? []);
  } catch {
    return [];
  }
}

/** The recording's gaps on its own clock: seconds from when the interview went live. */
function gapsOf(status: RecordingStatus): TimelineGap[] {
  const startedAt = status.startedAt ? Date.parse(status.startedAt) : NaN;
  if (!Number.isFinite(startedAt)) return [];
  return (status.gaps ?? []).map((gap) => ({
    startSeconds: (Date.parse(gap.start) - startedAt) / 1000,
    endSeconds: ((gap.end ? Date.parse(gap.end) : Date.parse(status.completedAt ?? gap.start)) - startedAt) / 1000,
    cause: gap.cause,
  }));
}

function showGaps(gaps: readonly TimelineGap[]): void {
  byId('timeline-gaps').replaceChildren(
    ...gaps.map((gap) => {
      const item = document.createElement('li');
      item.textContent = `Not recorded from ${clockWords(gap.startSeconds)} to ${clockWords(gap.endSeconds)}: ${gap.cause}`;
      return item;
    }),
  );
}

/**
 * The filmstrip is made after the recordings are saved: ask for it while the server says one is
 * coming (a short recording gets none), for two minutes at most.
 */
const FILMSTRIP_WAIT_MS = 120_000;
const FILMSTRIP_POLL_MS = 2000;

async function waitForFilmstrip(interviewId: string, token: string, first: RecordingStatus): Promise<FilmstripView | null> {
  let status: RecordingStatus | null = first;
  const until = Date.now() + FILMSTRIP_WAIT_MS;
  for (;;) {
    if (status?.filmstrip) return status.filmstrip;
    // A server without filmstrips names neither field: nothing to wait for.
    if (status && status.filmstripComing !== true) return null;
    if (Date.now() >= until) return null;
    await new Promise((resolve) => setTimeout(resolve, FILMSTRIP_POLL_MS));
    status = await fetchRecordingStatus(interviewId, token).catch(() => null);
  }
}

async function main(): Promise<void> {
  const token = tokenFromHash();
  if (!token) {
    announce('This page needs a proctor link; it is missing its access token.', 'error');
    return;
  }
  const status = await followRecording(interviewIdFromPath(), token, (update) => setText('status', statusWords[update.status]));
  if (status.status !== 'completed' || !status.screenVideo) {
    announce(status.status === 'failed' ? `The recordings could not be saved: ${status.failureReason ?? 'unknown reason'}` : 'No recording was made.', 'error');
    return;
  }

  const screen = byId<HTMLVideoElement>('screen-video');
  const candidate = byId<HTMLVideoElement>('candidate-video');
  const toggle = byId<HTMLButtonElement>('play');
  const seek = byId<HTMLInputElement>('seek');
  screen.src = status.screenVideo;
  candidate.src = status.candidateVideo;
  byId('player').hidden = false;

  const playback = new SyncedPlayback(screen, candidate);
  playback.start();
  const interviewId = interviewIdFromPath();
  const events = fetchEvents(interviewId, token);
  const seekTo = (seconds: number) => {
    // The leader's seek moves the follower (SyncedPlayback), whether playing or paused.
    screen.currentTime = seconds;
    seek.value = String(seconds);
    setText('position', formatTime(seconds));
  };
  const timeline = new Timeline({ track: byId('timeline-track'), filters: byId('timeline-filters') }, seekTo);
  void waitForFilmstrip(interviewId, token, status).then((filmstrip) => {
    if (!filmstrip) return;
    showFilmstrip(byId('filmstrip-frames'), filmstrip, seekTo);
    byId('filmstrip').hidden = false;
  });
  toggle.addEventListener('click', () => {
    if (!screen.paused) return screen.pause();
    screen.play().catch((error: unknown) => {
      // A pause pressed before playing began interrupts the play(): what the reviewer asked for.
      if ((error as DOMException).name !== 'AbortError') announce(`Cannot play the recordings: ${(error as Error).message}`, 'error');
    });
  });
  screen.addEventListener('play', () => (toggle.textContent = 'Pause'));
  screen.addEventListener('pause', () => (toggle.textContent = 'Play'));
  screen.addEventListener('loadedmetadata', () => {
    seek.max = String(screen.duration);
    setText('duration', formatTime(screen.duration));
    setText('timeline-end', formatTime(screen.duration));
    void events.then((list) => {
      const gaps = gapsOf(status);
      timeline.show(screen.duration, list, gaps);
      showGaps(gaps);
      byId('timeline-empty').hidden = list.some((event) => event.mediaSeconds !== null);
    });
  });
  screen.addEventListener('timeupdate', () => {
    seek.value = String(screen.currentTime);
    setText('position', formatTime(screen.currentTime));
  });
  seek.addEventListener('input', () => (screen.currentTime = Number(seek.value)));
  // Exposed for tests and curious reviewers: how far apart the two videos are right now.
  (window as unknown as { reviewDrift: () => number }).reviewDrift = () => playback.drift;
}

void main();
