// The review page's timeline under the players: the interview's length, its gaps as shaded spans,
// each event as a marker where it happened, filterable by kind. Markers are buttons in one
// toolbar: Tab reaches it once, the arrow keys (Home, End) move between the markers shown, and
// Enter, Space or a click plays from just before the event.
import type { TimelineEvent, TimelineEventKind } from '../../shared/timeline.ts';
import { TIMELINE_WORDS, clockWords, eventWords } from '../shared/timelineWords.ts';
import { RovingFocus } from './RovingFocus.ts';

/** A click on a marker starts this long before the event, so the reviewer sees what led to it. */
const SEEK_LEAD_SECONDS = 1;
/** Markers closer than this share of the length would overlap: the later one goes a row down. */
const MARKER_SPAN = 0.03;
const MAX_ROWS = 4;

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
  readonly #focus: RovingFocus;

  constructor(parts: { track: HTMLElement; filters: HTMLElement }, onSeek: (seconds: number) => void) {
    this.#track = parts.track;
    this.#filters = parts.filters;
    this.#onSeek = onSeek;
    this.#focus = new RovingFocus(this.#track, () => this.#markers);
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
    // Where each row's last marker is: a marker takes the first row it does not overlap in.
    const rowEnds: number[] = [];
    for (const event of placed) {
      const seconds = event.mediaSeconds!;
      let row = rowEnds.findIndex((end) => seconds - end >= MARKER_SPAN * length);
      if (row < 0) row = rowEnds.length < MAX_ROWS ? rowEnds.length : MAX_ROWS - 1;
      rowEnds[row] = seconds;
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
      marker.style.top = `${0.375 + row * 1.625}rem`;
      marker.addEventListener('click', () => {
        this.#focus.update(marker);
        this.#onSeek(Math.max(0, seconds - SEEK_LEAD_SECONDS));
      });
      this.#markers.push(marker);
      this.#track.append(marker);
    }
    this.#track.style.height = `${0.75 + Math.max(1, rowEnds.length) * 1.625}rem`;
    this.#showFilters(placed);
    this.#focus.update();
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
      box.id = `show-${kind}`;
      box.checked = true;
      box.value = kind;
      box.addEventListener('change', () => {
        for (const marker of this.#markers) if (marker.dataset.kind === kind) marker.hidden = !box.checked;
        this.#focus.update();
      });
      label.append(box, ` ${TIMELINE_WORDS[kind]} (${count})`);
      this.#filters.append(label);
    }
  }
}
