// What the candidate's browser can tell about the interview while it runs, for the interview's
// timeline: the tab hidden or shown, the window losing focus, full screen left, the screen share
// stopped or changed, the camera or microphone muted, ended or switched, a second screen, a copy
// or a paste (that it happened and where, never what), the page reloaded or left. Each report
// carries the browser's clock; the session sends it (the server's clock decides its time) and
// emits it to the host page. This is evidence a page saw, not a security control.
import type { CandidateEventKind, TimelineDetails } from '../../shared/timeline.ts';
import type { TrackRole } from './IngestError.ts';
import { hookTrack } from './trackHooks.ts';

export interface TimelineReport {
  kind: CandidateEventKind;
  /** The browser's clock (ms since the epoch). */
  at: number;
  details: TimelineDetails;
}

/** Tracks are also looked at this often, for what no event announces (a surface change, say). */
const POLL_MS = 1000;

interface TrackState {
  track: MediaStreamTrack;
  ended: boolean;
  /** The browser muted it (its source sends nothing). */
  muted: boolean;
  /** The page left it enabled. */
  enabled: boolean;
  deviceId: string | undefined;
  surface: string | undefined;
}

function read(track: MediaStreamTrack): TrackState {
  const settings = track.getSettings() as MediaTrackSettings & { displaySurface?: string };
  return { track, ended: track.readyState === 'ended', muted: track.muted, enabled: track.enabled, deviceId: settings.deviceId, surface: settings.displaySurface };
}

/** Where a copy or paste happened, never what was in it. */
function placeOf(target: EventTarget | null): string {
  if (!(target instanceof Element)) return 'page';
  if (target instanceof HTMLInputElement) return 'input';
  if (target instanceof HTMLTextAreaElement) return 'textarea';
  return (target as HTMLElement).isContentEditable ? 'editable' : 'page';
}

export class TimelineWatchers {
  readonly #report: (report: TimelineReport) => void;
  readonly #tracks = new Map<TrackRole, TrackState>();
  readonly #undo: Array<() => void> = [];
  #fullscreen = false;
  #extended = false;
  /** Between pagehide and pageshow: the page goes away, and its tab turning hidden says nothing more. */
  #leaving = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(report: (report: TimelineReport) => void) {
    this.#report = report;
  }

  #emit(kind: CandidateEventKind, details: TimelineDetails = {}): void {
    this.#report({ kind, at: Date.now(), details });
  }

  #listen(target: EventTarget, name: string, handler: (event: Event) => void, capture = false): void {
    target.addEventListener(name, handler, capture);
    this.#undo.push(() => target.removeEventListener(name, handler, capture));
  }

  /** Starts watching the page (once); a reload that brought the candidate here is reported now. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#poll(), POLL_MS);
    const navigation = performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined;
    if (navigation?.type === 'reload') this.#emit('page_reloaded');
    this.#listen(document, 'visibilitychange', () => {
      if (!this.#leaving) this.#emit(document.visibilityState === 'hidden' ? 'tab_hidden' : 'tab_visible');
    });
    this.#listen(window, 'blur', (event) => {
      if (event.target !== window) return;
      // Focus that moved into a frame of this page stays in the page.
      setTimeout(() => {
        if (!document.hasFocus()) this.#emit('window_blurred');
      });
    });
    this.#listen(window, 'focus', (event) => {
      if (event.target === window) this.#emit('window_focused');
    });
    this.#fullscreen = document.fullscreenElement != null;
    this.#listen(document, 'fullscreenchange', () => {
      const now = document.fullscreenElement != null;
      if (this.#fullscreen && !now) this.#emit('fullscreen_exited');
      this.#fullscreen = now;
    });
    this.#listen(document, 'copy', (event) => this.#emit('copied', { target: placeOf(event.target) }), true);
    this.#listen(document, 'cut', (event) => this.#emit('copied', { target: placeOf(event.target), cut: true }), true);
    this.#listen(document, 'paste', (event) => this.#emit('pasted', { target: placeOf(event.target) }), true);
    this.#listen(window, 'pagehide', () => {
      this.#leaving = true;
      this.#emit('page_left');
    });
    this.#listen(window, 'pageshow', () => (this.#leaving = false));
    // Chromium's Window Management API: true when the device has more than one screen.
    const display = screen as Screen & { isExtended?: boolean } & EventTarget;
    if (typeof display.isExtended === 'boolean') {
      const look = () => {
        if (display.isExtended && !this.#extended) this.#emit('second_screen_suspected', { extended: true });
        this.#extended = display.isExtended === true;
      };
      look();
      this.#listen(display, 'change', look);
    }
  }

  /** The track now sent for `role` (null: none). A new track after a stopped one is a restart. */
  track(role: TrackRole, track: MediaStreamTrack | null): void {
    const previous = this.#tracks.get(role);
    if (!track || previous?.track === track) return;
    hookTrack(track);
    const next = read(track);
    this.#tracks.set(role, next);
    const check = () => this.#check(role, track);
    for (const name of ['ended', 'mute', 'unmute', 'enabledchange']) this.#listen(track, name, check);
    if (!previous) return;
    if (role === 'screen') {
      if (previous.ended || previous.track.readyState === 'ended') this.#emit('screen_share_restarted', { surface: next.surface ?? null });
      else if (next.surface !== previous.surface) this.#emit('screen_surface_changed', { from: previous.surface ?? null, to: next.surface ?? null });
      return;
    }
    if (next.deviceId !== previous.deviceId) this.#emit(`${role}_switched`, { device: track.label.slice(0, 100) });
    this.#muting(role, previous, next);
  }

  /** Muted: the browser muted it, or the page disabled it (`by` says which changed). */
  #muting(role: 'camera' | 'microphone', previous: TrackState, now: TrackState): void {
    const off = (state: TrackState) => state.muted || !state.enabled;
    if (off(now) !== off(previous)) this.#emit(off(now) ? `${role}_muted` : `${role}_unmuted`, { by: now.muted !== previous.muted ? 'browser' : 'page' });
  }

  #check(role: TrackRole, track: MediaStreamTrack): void {
    const previous = this.#tracks.get(role);
    if (previous?.track !== track || previous.ended) return;
    const now = read(track);
    this.#tracks.set(role, now);
    if (now.ended) return this.#emit(role === 'screen' ? 'screen_share_stopped' : `${role}_ended`);
    if (role === 'screen') {
      if (now.surface !== previous.surface) this.#emit('screen_surface_changed', { from: previous.surface ?? null, to: now.surface ?? null });
    } else {
      this.#muting(role, previous, now);
    }
  }

  #poll(): void {
    for (const [role, { track }] of this.#tracks) this.#check(role, track);
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const undo of this.#undo.splice(0)) undo();
    this.#tracks.clear();
  }
}
