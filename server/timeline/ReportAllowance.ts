/** What one interview's candidate page may report (rate and total). */
export interface ReportLimits {
  /** Tokens added per second (sustained reports per second). */
  ratePerSecond: number;
  /** Bucket size (a burst). */
  burst: number;
  /** Candidate events stored per interview at most. */
  maxEvents: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = { ratePerSecond: 10, burst: 50, maxEvents: 2000 };

/**
 * A token bucket plus a cap, per interview (not per connection: a page that reconnects gets no
 * fresh allowance). `take()` is synchronous and O(1), so a flood costs a comparison per message.
 */
export class ReportAllowance {
  readonly #limits: ReportLimits;
  readonly #now: () => number;
  #tokens: number;
  #refilledAt: number;
  #stored: number;

  constructor(limits: ReportLimits, stored = 0, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
    this.#tokens = limits.burst;
    this.#refilledAt = now();
    this.#stored = stored;
  }

  /** One report may be stored now (and is counted); false: refused. */
  take(): boolean {
    if (this.#stored >= this.#limits.maxEvents) return false;
    const now = this.#now();
    this.#tokens = Math.min(this.#limits.burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#limits.ratePerSecond);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    this.#stored++;
    return true;
  }

  /** A report taken could not be stored after all: it does not count toward the cap. */
  giveBack(): void {
    this.#stored = Math.max(0, this.#stored - 1);
  }
}
