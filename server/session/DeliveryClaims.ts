import type { Logger } from 'pino';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import { FINALIZATION_CLAIM_TTL_MS, FinalizationClaim } from './FinalizationClaim.ts';

/**
 * The finalization claims one session holds: the one its end (or a due retry) took with it, or one
 * taken when a delivery starts; held from then until the delivery's outcome is stored. Released on
 * shutdown so that another node may take the delivery up once it runs out.
 */
export class DeliveryClaims {
  readonly #interviews: InterviewService;
  readonly #interviewId: string;
  readonly #node: string;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  #held: FinalizationClaim | undefined;

  constructor(options: { interviews: InterviewService; interviewId: string; nodeId: string; ttlMs?: number | undefined; logger: Logger }) {
    this.#interviews = options.interviews;
    this.#interviewId = options.interviewId;
    this.#node = options.nodeId;
    this.#ttlMs = options.ttlMs ?? FINALIZATION_CLAIM_TTL_MS;
    this.#logger = options.logger;
  }

  /** The terms this node claims under (the end and a due retry's reopen take a claim with them). */
  get terms(): { node: string; ttlMs: number } {
    return { node: this.#node, ttlMs: this.#ttlMs };
  }

  /** The end just stored took the claim: hold it. */
  heldWithEnd(): void {
    this.#hold(FinalizationClaim.takenWithEnd(this.#interviews, this.#interviewId, this.terms, this.#logger));
  }

  /** A due retry's reopen took the claim: hold it. */
  heldWithRetry(): void {
    this.#hold(FinalizationClaim.takenWithRetry(this.#interviews, this.#interviewId, this.terms, this.#logger));
  }

  /** The claim held, or one taken now; undefined when another live node finalizes (or it is not ended). */
  async forDelivery(): Promise<FinalizationClaim | undefined> {
    const claim = this.#held ?? (await FinalizationClaim.take(this.#interviews, this.#interviewId, this.terms, this.#logger));
    if (claim) this.#hold(claim);
    return claim;
  }

  /** The delivery under `claim` is over (its outcome stored, or it stopped). */
  delivered(claim: FinalizationClaim): void {
    claim.release();
    if (this.#held === claim) this.#held = undefined;
  }

  /** Shutdown: not renewed past this process. */
  releaseHeld(): void {
    this.#held?.release();
  }

  #hold(claim: FinalizationClaim): void {
    if (this.#held !== claim) this.#held?.release();
    this.#held = claim;
  }
}
