/**
 * Runs tasks one at a time, in the order they were queued. A task that fails does not stop the
 * ones after it; its caller gets the error.
 */
export class SerialQueue {
  readonly #onIdle: (() => void) | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  /** `onIdle` is called each time the last queued task has finished. */
  constructor(onIdle?: () => void) {
    this.#onIdle = onIdle;
  }

  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.#pending++;
    const result = this.#tail.then(task);
    const settled = (): void => {
      if (--this.#pending === 0) this.#onIdle?.();
    };
    this.#tail = result.then(settled, settled);
    return result;
  }

  /** Nothing queued or running. */
  get idle(): boolean {
    return this.#pending === 0;
  }
}
