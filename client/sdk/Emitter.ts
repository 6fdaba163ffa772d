/** A small typed event emitter (the SDK has no dependency on Node's or a framework's). */
export class Emitter<Events extends { [name: string]: unknown[] }> {
  // Listeners of every event in one map: each set holds listeners of its own event's arguments.
  readonly #listeners = new Map<keyof Events, Set<(...args: never[]) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<N extends keyof Events>(name: N, listener: (...args: Events[N]) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as unknown as (...args: never[]) => void);
    return () => this.off(name, listener);
  }

  off<N extends keyof Events>(name: N, listener: (...args: Events[N]) => void): void {
    this.#listeners.get(name)?.delete(listener as unknown as (...args: never[]) => void);
  }

  protected emit<N extends keyof Events>(name: N, ...args: Events[N]): void {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        (listener as unknown as (...args: Events[N]) => void)(...args);
      } catch (error) {
        // A host's listener that throws must not stop the SDK (nor the other listeners).
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}
