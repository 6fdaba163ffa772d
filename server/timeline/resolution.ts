/** A screen at less than this share of the largest size seen counts as dropped… */
const DROPPED_SHARE = 0.5;
/** …and back at this share of it as recovered (a band in between keeps the state: no flapping). */
const RECOVERED_SHARE = 0.9;

/**
 * The screen's received resolution (from its key frames, which the recorder asks for every 2 s):
 * `dropped` when its pixels fall below half the largest seen in the interview, `recovered` when
 * they are back to 90 % of it.
 */
export class ResolutionWatch {
  #largest: { width: number; height: number } | undefined;
  #dropped = false;

  observe(width: number, height: number): { change: 'dropped' | 'recovered'; from: { width: number; height: number } } | undefined {
    const largest = this.#largest;
    if (!largest || width * height > largest.width * largest.height) this.#largest = { width, height };
    if (!largest) return undefined;
    const share = (width * height) / (largest.width * largest.height);
    if (!this.#dropped && share < DROPPED_SHARE) {
      this.#dropped = true;
      return { change: 'dropped', from: largest };
    }
    if (this.#dropped && share >= RECOVERED_SHARE) {
      this.#dropped = false;
      return { change: 'recovered', from: largest };
    }
    return undefined;
  }
}
