/** Loss above this share of the packets (over a sample) counts as high. */
const HIGH_LOSS = 0.05;
/** Loss below this counts as recovered (a band in between keeps the state: no flapping). */
const RECOVERED_LOSS = 0.02;
/** How many samples in a row decide a change (with 2-second samples: 6 s). */
const SAMPLES_TO_DECIDE = 3;

/**
 * Packet loss of the candidate's uplink from the producers' cumulative counters, sampled
 * periodically: `high` once the loss stayed above HIGH_LOSS for SAMPLES_TO_DECIDE samples,
 * `recovered` once it stayed below RECOVERED_LOSS as long. A sample without packets (a paused
 * track, a reconnect) changes nothing.
 */
export class PacketLossDetector {
  #last: { lost: number; received: number } | undefined;
  #high = false;
  #streak = 0;

  get high(): boolean {
    return this.#high;
  }

  /** Cumulative lost and received packets now; returns the change it decided, with the sample's loss. */
  sample(lost: number, received: number): { change: 'high' | 'recovered'; loss: number } | undefined {
    const last = this.#last;
    this.#last = { lost, received };
    // First sample, or counters that went back (a new producer): nothing to compare yet.
    if (!last || lost < last.lost || received < last.received) return undefined;
    const newLost = lost - last.lost;
    const expected = newLost + (received - last.received);
    if (expected <= 0) return undefined;
    const loss = newLost / expected;
    const crossing = this.#high ? loss < RECOVERED_LOSS : loss > HIGH_LOSS;
    this.#streak = crossing ? this.#streak + 1 : 0;
    if (this.#streak < SAMPLES_TO_DECIDE) return undefined;
    this.#streak = 0;
    this.#high = !this.#high;
    return { change: this.#high ? 'high' : 'recovered', loss };
  }
}
