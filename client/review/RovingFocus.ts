// One Tab stop for a row of buttons: Tab reaches the current one, the arrow keys (and Home, End)
// move between those shown, Enter or Space presses it. Used by the timeline's markers and the
// filmstrip's pictures, which would otherwise be dozens of Tab stops.
export class RovingFocus {
  readonly #items: () => HTMLElement[];
  #current: HTMLElement | null = null;

  constructor(container: HTMLElement, items: () => HTMLElement[]) {
    this.#items = items;
    container.addEventListener('keydown', (event) => this.#onKey(event));
  }

  #shown(): HTMLElement[] {
    return this.#items().filter((item) => !item.hidden);
  }

  /** Makes `item` (or, when it is gone or hidden, the first shown) the one Tab reaches. */
  update(item: HTMLElement | null = this.#current): void {
    const shown = this.#shown();
    this.#current = item && shown.includes(item) ? item : (shown[0] ?? null);
    for (const each of this.#items()) each.tabIndex = each === this.#current ? 0 : -1;
  }

  #onKey(event: KeyboardEvent): void {
    const shown = this.#shown();
    const at = shown.indexOf(event.target as HTMLElement);
    if (at < 0) return;
    const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: shown.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    this.update(shown[Math.min(Math.max(to, 0), shown.length - 1)] ?? null);
    this.#current?.focus();
  }
}
