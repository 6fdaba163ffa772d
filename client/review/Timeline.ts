// The review page's timeline under the players: the interview's length, its gaps as shaded spans,
// each event as a marker where it happened, filterable by kind. Markers are buttons in one
// toolbar: Tab reaches it once, the arrow keys (Home, End) move between the markers shown, and
// Enter, Space or a click plays from just before the event.
import type { TimelineEvent, TimelineEventKind } from '../../shared/timeline.ts';
import { TIMELINE_WORDS, clockWords, eventWords } from '../shared/timelineWords.ts';

/** A click on a marker starts this long before the event, so the reviewer sees what led to it. */
const SEEK_LEAD_SECONDS = 1;

export interface TimelineGap {
  startSeconds: number;
  endSeconds: number;
  cause: string;
}

/** Kinds that share a marker colour. */
function groupOf(kind: TimelineEventKind): string {
  if (kind.startsWith('tab_') || kind.startsWith('window_') || kind === 'fullscreen_exited' || kind === 'second_screen_suspected') return 'focus';
  if (kind.startsWith('screen_')) return 'screen';
  if (kind.startsWith('camera_') || kind.startsWith('microphone_')) return 'devices';
  if (kind === 'copied' || kind === 'pasted') return 'clipboard';
  if (kind.startsWith('page_')) return 'page';
  return 'service';
}

export class Timeline {
  readonly #track: HTMLElement;
  readonly #filters: HTMLElement;
  readonly #onSeek: (seconds: number) => void;
  readonly #markers: HTMLButtonElement[] = [];
  /** The marker Tab lands on (the last one used, else the first shown). */
  #current: HTMLButtonElement | null = null;

  constructor(parts: { track: HTMLElement; filters: HTMLElement }, onSeek: (seconds: number) => void) {
    this.#track = parts.track;
    this.#filters = parts.filters;
    this.#onSeek = onSeek;
    this.#track.addEventListener('keydown', (event) => this.#onKey(event));
  }

  /** Lays out `events` (those with a media time) and `gaps` along `durationSeconds`. */
  show(durationSeconds: number, events: readonly TimelineEvent[], gaps: readonly TimelineGap[]): void {
    const length = Math.max(durationSeconds, 0.001);
    const percent = (seconds: number) => `${(Math.min(Math.max(seconds, 0), length) / length) * 100}%`;
    this.#track.replaceChildren();
    this.#markers.length = 0;
    for (const gap of gaps) {
      const span = document.createElement('div');
      span.className = 'timeline-gap';
      span.setAttribute('aria-hidden', 'true');
      span.title = `Not recorded ${clockWords(gap.startSeconds)}–${clockWords(gap.endSeconds)} (${gap.cause})`;
      span.style.left = percent(gap.startSeconds);
      span.style.width = `calc(${percent(gap.endSeconds)} - ${percent(gap.startSeconds)})`;
      this.#track.append(span);
    }
    const placed = events.filter((event) => event.mediaSeconds !== null).sort((a, b) => a.mediaSeconds! - b.mediaSeconds! || a.seq - b.seq);
    for (const event of placed) {
      const seconds = event.mediaSeconds!;
      const marker = document.createElement('button');
      marker.type = 'button';
      marker.className = 'timeline-marker';
      marker.dataset.kind = event.kind;
      marker.dataset.group = groupOf(event.kind);
      marker.dataset.seconds = String(seconds);
      const label = `${eventWords(event)} at ${clockWords(seconds)}`;
      marker.setAttribute('aria-label', label);
      marker.title = label;
      marker.style.left = percent(seconds);
      marker.addEventListener('click', () => {
        this.#current = marker;
        this.#rove();
        this.#onSeek(Math.max(0, seconds - SEEK_LEAD_SECONDS));
      });
      this.#markers.push(marker);
      this.#track.append(marker);
    }
    this.#showFilters(placed);
    this.#rove();
  }

  /** One checkbox per kind present, all on. */
  #showFilters(events: readonly TimelineEvent[]): void {
    const counts = new Map<TimelineEventKind, number>();
    for (const event of events) counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1);
    const legend = this.#filters.querySelector('legend');
    this.#filters.replaceChildren(...(legend ? [legend] : []));
    this.#filters.hidden = counts.size === 0;
    for (const [kind, count] of counts) {
      const label = document.createElement('label');
      label.dataset.group = groupOf(kind);
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = true;
      box.value = kind;
      box.addEventListener('change', () => {
        for (const marker of this.#markers) if (marker.dataset.kind === kind) marker.hidden = !box.checked;
        this.#rove();
      });
      label.append(box, ` ${TIMELINE_WORDS[kind]} (${count})`);
      this.#filters.append(label);
    }
  }

  #shown(): HTMLButtonElement[] {
    return this.#markers.filter((marker) => !marker.hidden);
  }

  /** Roving tabindex: exactly one marker shown takes Tab. */
  #rove(): void {
    const shown = this.#shown();
    if (!this.#current || this.#current.hidden) this.#current = shown[0] ?? null;
    for (const marker of this.#markers) marker.tabIndex = marker === this.#current ? 0 : -1;
  }

  #onKey(event: KeyboardEvent): void {
    const shown = this.#shown();
    const at = shown.indexOf(event.target as HTMLButtonElement);
    if (at < 0) return;
    const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: shown.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    this.#current = shown[Math.min(Math.max(to, 0), shown.length - 1)] ?? null;
    this.#rove();
    this.#current?.focus();
  }
}
