/**
 * Counts down on the server's clock: the offset between the server's `now` and this machine's
 * clock is taken at each message that carries it, so a wrong local clock shows the right time.
 */
export class ServerClock {
  #offsetMs = 0;
  #endsAt: number | null = null;

  sync(serverNow: number, endsAt: string | null | undefined): void {
    this.#offsetMs = serverNow - Date.now();
    if (endsAt !== undefined) this.#endsAt = endsAt ? Date.parse(endsAt) : null;
  }

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Milliseconds left, or null before the interview has started. */
  remainingMs(): number | null {
    return this.#endsAt === null ? null : Math.max(0, this.#endsAt - this.now());
  }

  /** "12:34" or "1:02:03". */
  static format(ms: number): string {
    const total = Math.ceil(ms / 1000);
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    const pad = (value: number) => String(value).padStart(2, '0');
    return hours > 0 ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${minutes}:${pad(seconds)}`;
  }
}
