import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { OwnershipClaim, SessionOwnership } from '../session/SessionOwnership.ts';
import type { InterviewLeases } from './InterviewLeases.ts';

/** How long a claim retries while Redis cannot be reached (it reconnects within about a second). */
const CLAIM_RETRY_MS = 5000;
const CLAIM_RETRY_INTERVAL_MS = 200;

/**
 * Sessions' ownership through interview leases (cluster mode): a session claims its interview's
 * lease when it goes live or resumes owner work, and releases it once the interview is done here.
 */
export class LeasedOwnership implements SessionOwnership {
  readonly #leases: InterviewLeases;
  readonly #logger: Logger;

  constructor(leases: InterviewLeases, logger: Logger) {
    this.#leases = leases;
    this.#logger = logger.child({ component: 'ownership' });
  }

  /**
   * True when this node holds the lease (taken now or already). While Redis cannot be reached the
   * claim is retried for a few seconds; after that the session goes on without a lease (logged):
   * the candidate's media is here, and an interview that never starts its clock is worse.
   */
  async claim(interviewId: string): Promise<OwnershipClaim | undefined> {
    const deadline = Date.now() + CLAIM_RETRY_MS;
    // A lease under this NODE_ID but another holder is this node's previous run (killed and
    // restarted: NodeRegistry refuses a second live process under one id). Nobody renews it: it
    // lapses within the TTL, and then this run takes it.
    const previousRunDeadline = Date.now() + this.#leases.ttlMs + CLAIM_RETRY_INTERVAL_MS;
    for (;;) {
      try {
        const lease = await this.#leases.acquire(interviewId);
        if (lease) return { release: () => this.#release(interviewId, () => lease.release()), onLost: (listener) => void lease.once('lost', listener) };
        const owner = await this.#leases.ownerOf(interviewId);
        if (owner === undefined || (owner === this.#leases.nodeId && Date.now() < previousRunDeadline)) {
          await delay(CLAIM_RETRY_INTERVAL_MS);
          continue;
        }
        this.#logger.info({ interviewId, owner }, 'another node owns the interview');
        return undefined;
      } catch (error) {
        if (Date.now() >= deadline) {
          this.#logger.error({ err: error, interviewId }, 'could not take the interview lease (Redis unreachable); acting as its owner without one');
          return { release: async () => {}, onLost: () => {} };
        }
        await delay(CLAIM_RETRY_INTERVAL_MS);
      }
    }
  }

  async #release(interviewId: string, release: () => Promise<unknown>): Promise<void> {
    try {
      await release();
    } catch (error) {
      this.#logger.warn({ err: error, interviewId }, 'could not release the interview lease; it lapses by itself');
    }
  }
}
