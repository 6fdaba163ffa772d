import type { Logger } from 'pino';
import { InterviewStatus } from './InterviewStatus.ts';
import type { InterviewService } from './InterviewService.ts';

// setTimeout cannot wait longer than 2^31-1 ms (~24.8 days); longer waits re-arm in steps.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * The server's clock ends interviews: one timer per live interview at its persisted endsAt,
 * re-armed for every live interview when the service starts (an endsAt already past ends it now).
 */
export class InterviewTimers {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #interviews: InterviewService;
  readonly #logger: Logger;
  #closed = false;

  constructor(interviews: InterviewService, logger: Logger) {
    this.#interviews = interviews;
    this.#logger = logger;
    interviews.on('live', (interview) => interview.endsAt && this.arm(interview.id, interview.endsAt));
    interviews.on('ended', (interview) => this.disarm(interview.id));
  }

  /** Arms a timer for every live interview in the database. */
  async rearmAll(): Promise<void> {
    for (const interview of await this.#interviews.list({ status: InterviewStatus.Live })) {
      if (interview.endsAt) this.arm(interview.id, interview.endsAt);
    }
  }

  arm(interviewId: string, endsAt: Date): void {
    if (this.#closed) return;
    this.disarm(interviewId);
    const delay = endsAt.getTime() - Date.now();
    const timer = setTimeout(() => {
      this.#timers.delete(interviewId);
      if (delay > MAX_TIMEOUT_MS) return this.arm(interviewId, endsAt);
      this.#interviews.end(interviewId, 'timer').catch((error) => this.#logger.error({ err: error, interviewId }, 'ending the interview on its timer failed'));
    }, Math.max(0, Math.min(delay, MAX_TIMEOUT_MS)));
    this.#timers.set(interviewId, timer);
  }

  disarm(interviewId: string): void {
    clearTimeout(this.#timers.get(interviewId));
    this.#timers.delete(interviewId);
  }

  get armed(): string[] {
    return [...this.#timers.keys()];
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
