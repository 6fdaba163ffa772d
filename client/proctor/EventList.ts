// The proctor's list of what happened, newest at the top: the history the join brought, then
// each event as the server announces it. Each in plain words (client/shared/timelineWords.ts) with
// the time it happened. An event heard again (history and live around a reconnect, or the one
// "events dropped" entry whose count grows) replaces the one shown.
import type { TimelineEvent } from '../../shared/timeline.ts';
import { clockWords, eventWords } from '../shared/timelineWords.ts';

export class EventList {
  readonly #list: HTMLOListElement;
  readonly #empty: HTMLElement;
  readonly #shown = new Map<number, HTMLLIElement>();

  constructor(list: HTMLOListElement, empty: HTMLElement) {
    this.#list = list;
    this.#empty = empty;
  }

  add(events: readonly TimelineEvent[]): void {
    for (const event of events) {
      const item = document.createElement('li');
      item.dataset.kind = event.kind;
      item.dataset.seq = String(event.seq);
      const time = document.createElement('time');
      time.dateTime = event.at;
      time.textContent = new Date(event.at).toLocaleTimeString();
      const into = event.mediaSeconds === null ? '' : ` (${clockWords(event.mediaSeconds)} into the recording)`;
      item.append(time, ` ${eventWords(event)}${into}`);
      const shown = this.#shown.get(event.seq);
      if (shown) {
        shown.replaceWith(item);
        this.#shown.set(event.seq, item);
        continue;
      }
      // Newest first: before the first shown event with a lower number.
      const next = [...this.#shown.entries()].filter(([seq]) => seq < event.seq).sort(([a], [b]) => b - a)[0]?.[1] ?? null;
      this.#list.insertBefore(item, next);
      this.#shown.set(event.seq, item);
    }
    this.#empty.hidden = this.#shown.size > 0;
  }
}
