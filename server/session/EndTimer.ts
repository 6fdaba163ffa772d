// setTimeout cannot wait longer than 2^31-1 ms (~24.8 days); longer waits re-arm in steps.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The interview's server-side end timer: fires `onDue` at `endsAt`, however far away. */
export class EndTimer {
  readonly #onDue: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(onDue: () => void) {
    this.#onDue = onDue;
  }

  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** (Re-)arms the timer for `endsAt`. */
  arm(endsAt: Date): void {
    clearTimeout(this.#timer);
    const delay = endsAt.getTime() - Date.now();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (delay > MAX_TIMEOUT_MS) return this.arm(endsAt);
      this.#onDue();
    }, Math.max(0, Math.min(delay, MAX_TIMEOUT_MS)));
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
