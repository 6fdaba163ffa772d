import type { Logger } from 'pino';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import type { SessionRegistry } from './SessionRegistry.ts';

/**
 * A `failed` interview is delivered again by itself once its retry is due (`nextRetryAt`, set when
 * it failed from the retry schedule: FAILED_UPLOAD_RETRY_SECONDS within FAILED_UPLOAD_RETRY_DAYS).
 * Every node looks every `intervalMs`; the retry moves the status with a compare-and-set that also
 * takes the finalization claim (`InterviewSession.retryWhenDue`), so one node delivers it. A node
 * that is draining starts none.
 */
export class FailedDeliveryRetries {
  readonly #timer: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;

  constructor(
    readonly options: {
      interviews: InterviewService;
      sessions: SessionRegistry;
      /** True once a graceful shutdown began. */
      draining: () => boolean;
      /** Whether this node can read the interview's recording (cluster mode without the journal: only the node whose disk holds it). */
      canDeliverHere: (interviewId: string) => boolean;
      intervalMs: number;
      logger: Logger;
    },
  ) {
    this.#timer = setInterval(() => {
      this.#sweeping ??= this.sweep().finally(() => (this.#sweeping = undefined));
    }, options.intervalMs);
    this.#timer.unref();
  }

  /** One look: each failed interview whose retry is due is offered to a session here (the compare-and-set decides). */
  async sweep(): Promise<void> {
    const { interviews, sessions, draining, canDeliverHere, logger } = this.options;
    try {
      for (const interview of await interviews.dueRetries()) {
        if (draining()) return;
        if (!canDeliverHere(interview.id)) continue;
        if (await sessions.open(interview.id).retryWhenDue()) {
          logger.info({ interviewId: interview.id, failedDeliveries: interview.failedDeliveries, dueAt: interview.nextRetryAt?.toISOString() }, 'retrying the delivery of a failed interview');
        }
      }
    } catch (error) {
      logger.warn({ err: error }, 'could not look for failed interviews to retry');
    }
  }

  /** Starts no more retries; one being started finishes starting (its delivery runs on, like any other). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}
