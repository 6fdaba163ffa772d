import { soleOwnership, type OwnershipClaim, type SessionOwnership } from './SessionOwnership.ts';

/**
 * Cluster ownership, as one session holds it: the claim taken once (when the interview goes live
 * or resumes here) and held until the session is done, claimed again when it only lapsed, and
 * given up (`onTaken`) when another node owns the interview.
 */
export class OwnershipHold {
  readonly #ownership: SessionOwnership;
  readonly #interviewId: string;
  /** Another node owns the interview now (a lapsed claim could not be taken back). */
  readonly #onTaken: () => Promise<void>;
  /** A claim taken back after it lapsed is not needed any more (the session is done or shut down). */
  readonly #unneeded: () => boolean;
  #claim: OwnershipClaim | undefined;

  constructor(options: { ownership?: SessionOwnership | undefined; interviewId: string; onTaken: () => Promise<void>; unneeded: () => boolean }) {
    this.#ownership = options.ownership ?? soleOwnership;
    this.#interviewId = options.interviewId;
    this.#onTaken = options.onTaken;
    this.#unneeded = options.unneeded;
  }

  get held(): boolean {
    return this.#claim !== undefined;
  }

  /** This node's claim on the interview, taken once and held until released (or lost). */
  async claim(): Promise<OwnershipClaim | undefined> {
    if (this.#claim) return this.#claim;
    const claim = await this.#ownership.claim(this.#interviewId);
    if (!claim) return undefined;
    this.#claim ??= claim;
    claim.onLost((reason) => void this.#lost(claim, reason));
    return this.#claim;
  }

  /** Done here: the lease goes at once, not after its TTL. */
  release(): void {
    void this.#claim?.release();
    this.#claim = undefined;
  }

  /**
   * The claim is gone. One that lapsed (Redis could not be reached for a while) is claimed again
   * first, off the session's queue so that an end meanwhile is not held up: nobody else may hold
   * it, and the media is here. Otherwise another node owns it: `onTaken`.
   */
  async #lost(claim: OwnershipClaim, reason: 'taken' | 'lapsed'): Promise<void> {
    if (this.#claim !== claim) return;
    this.#claim = undefined;
    if (reason === 'lapsed') {
      const again = await this.claim();
      // Done or shut down while it was claimed again: nothing here needs it.
      if (again && this.#unneeded()) {
        void again.release();
        this.#claim = undefined;
      }
      if (again) return;
    }
    await this.#onTaken();
  }
}
