/** A connection that can be told it was replaced (the candidate's previous tab). */
export interface Replaceable {
  replaced(): void;
}

/**
 * Who is connected to one interview on this node: the pages' connections, the proctor seats they
 * hold, and the candidate's current tab. Each release tells the session (it may be unused now).
 */
export class SessionConnections {
  readonly #onReleased: () => void;
  #connections = 0;
  #proctorSeats = 0;
  #candidate: Replaceable | undefined;

  constructor(onReleased: () => void) {
    this.#onReleased = onReleased;
  }

  /** Any connection, seat or candidate tab is held. */
  get inUse(): boolean {
    return this.#candidate !== undefined || this.#proctorSeats > 0 || this.#connections > 0;
  }

  /** A page's connection works through the session until `release` is called. */
  hold(): () => void {
    this.#connections++;
    return this.#once(() => this.#connections--);
  }

  /** Reserves one of the interview's proctor seats; undefined when all are taken. */
  holdProctorSeat(max: number): (() => void) | undefined {
    if (this.#proctorSeats >= max) return undefined;
    this.#proctorSeats++;
    return this.#once(() => this.#proctorSeats--);
  }

  /** The candidate joined from `connection`; returns the connection it replaces (an older tab). */
  candidateJoined(connection: Replaceable): Replaceable | undefined {
    const previous = this.#candidate;
    this.#candidate = connection;
    return previous === connection ? undefined : previous;
  }

  /** The candidate's connection closed; false when it was not the current one (a replaced tab). */
  candidateLeft(connection: Replaceable): boolean {
    if (this.#candidate !== connection) return false;
    this.#candidate = undefined;
    this.#onReleased();
    return true;
  }

  #once(release: () => void): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      this.#onReleased();
    };
  }
}
