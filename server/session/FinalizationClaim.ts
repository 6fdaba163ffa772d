import type { Logger } from 'pino';
import type { FinalizationClaimTerms, InterviewService } from '../lifecycle/InterviewService.ts';

/**
 * How long a finalization claim holds without renewal. Another node takes an ended interview's
 * delivery over only after this (its finalizer died, or cannot reach the database); long enough
 * that a database blip of a few seconds does not hand a running upload to a second node.
 */
export const FINALIZATION_CLAIM_TTL_MS = 15_000;
/** The holder renews this often: two renewals may fail in a row before the claim runs out. */
const RENEW_INTERVAL_MS = FINALIZATION_CLAIM_TTL_MS / 4;

/**
 * This node's claim on one ended interview's finalization, stored in the database
 * (interviews.finalizing_node / claim_expires_at) and renewed on a timer while the session ends and
 * delivers. The outcome is stored only if the claim is still this node's (InterviewService.complete),
 * so a node whose claim ran out never completes an interview another node delivers.
 */
export class FinalizationClaim {
  readonly #interviews: InterviewService;
  readonly #interviewId: string;
  readonly #terms: FinalizationClaimTerms;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #released = false;

  private constructor(interviews: InterviewService, interviewId: string, terms: FinalizationClaimTerms, logger: Logger) {
    this.#interviews = interviews;
    this.#interviewId = interviewId;
    this.#terms = terms;
    this.#logger = logger;
    this.#timer = setInterval(() => void this.#renew(), RENEW_INTERVAL_MS);
    this.#timer.unref();
  }

  /** The claim the end took with it (`InterviewService.end`), renewed from now on. */
  static takenWithEnd(interviews: InterviewService, interviewId: string, terms: FinalizationClaimTerms, logger: Logger): FinalizationClaim {
    return new FinalizationClaim(interviews, interviewId, terms, logger);
  }

  /** The claim a due retry took with its reopen (`InterviewService.reopenDueRetry`), renewed from now on. */
  static takenWithRetry(interviews: InterviewService, interviewId: string, terms: FinalizationClaimTerms, logger: Logger): FinalizationClaim {
    return new FinalizationClaim(interviews, interviewId, terms, logger);
  }

  /** Claims the delivery of an ended interview; undefined when another live node finalizes it. */
  static async take(interviews: InterviewService, interviewId: string, terms: FinalizationClaimTerms, logger: Logger): Promise<FinalizationClaim | undefined> {
    if (!(await interviews.claimFinalization(interviewId, terms))) return undefined;
    return new FinalizationClaim(interviews, interviewId, terms, logger);
  }

  get node(): string {
    return this.#terms.node;
  }

  /** Stops renewing (the outcome was stored, which cleared the claim, or the delivery gave up). Idempotent. */
  release(): void {
    this.#released = true;
    clearInterval(this.#timer);
  }

  async #renew(): Promise<void> {
    if (this.#released) return;
    try {
      if (await this.#interviews.renewFinalizationClaim(this.#interviewId, this.#terms)) return;
      // Completed meanwhile (the row no longer matches), or it ran out and another node took it.
      this.release();
    } catch (error) {
      // The database is away: the claim may run out; the outcome's compare-and-set decides then.
      this.#logger.warn({ err: error }, 'could not renew the finalization claim');
    }
  }
}
