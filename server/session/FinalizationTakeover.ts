import type { Logger } from 'pino';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import type { SessionRegistry } from './SessionRegistry.ts';

/** How often a node looks for ended interviews nobody finalizes. */
const SWEEP_INTERVAL_MS = 5000;

/**
 * Cluster mode: an ended interview whose finalizer died (its claim in the database ran out) is
 * delivered by another node — the first whose sweep claims it. The recording comes from the
 * object store (the journal: RECORDING_JOURNAL_SECONDS) and a progressive upload resumes from its
 * stored part list, so nothing on the dead node's disk is needed. Without the journal the data is
 * only on that node's disk: it is left for that node's next start (same NODE_ID), which takes its
 * own claim back at once.
 */
export class FinalizationTakeover {
  readonly #timer: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;

  constructor(
    readonly options: { interviews: InterviewService; sessions: SessionRegistry; logger: Logger; intervalMs?: number },
  ) {
    this.#timer = setInterval(() => {
      this.#sweeping ??= this.sweep().finally(() => (this.#sweeping = undefined));
    }, options.intervalMs ?? SWEEP_INTERVAL_MS);
    this.#timer.unref();
  }

  /** One look: each abandoned finalization is offered to a session here (its claim decides). */
  async sweep(): Promise<void> {
    try {
      for (const interview of await this.options.interviews.abandonedFinalizations()) {
        this.options.logger.info({ interviewId: interview.id, previousFinalizer: interview.finalizingNode }, 'taking over the finalization of an ended interview');
        await this.options.sessions.open(interview.id).takeOverDelivery();
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not look for abandoned finalizations');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}
