import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import type { InterviewView } from '../../shared/vocabulary.ts';

export type { InterviewView } from '../../shared/vocabulary.ts';
import type { ScreenSource } from '../../shared/protocol.ts';
import { AppError } from '../errors.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import { InterviewStatus, canTransition } from '../db/InterviewStatus.ts';

export type EndCause = 'timer' | 'proctor' | 'admin';

export function toView(interview: Interview): InterviewView {
  return {
    id: interview.id,
    status: interview.status,
    durationSeconds: interview.durationSeconds,
    candidateName: interview.candidateName,
    createdAt: interview.createdAt.toISOString(),
    startedAt: interview.startedAt?.toISOString() ?? null,
    endsAt: interview.endsAt?.toISOString() ?? null,
    completedAt: interview.completedAt?.toISOString() ?? null,
    screenVideo: interview.screenVideo,
    candidateVideo: interview.candidateVideo,
    score: interview.score,
    notes: interview.notes,
    failureReason: interview.failureReason,
    gaps: interview.gaps,
    recordingsDeletedAt: interview.recordingsDeletedAt?.toISOString() ?? null,
    screenSource: interview.screenSource,
  };
}

/**
 * The stored interviews: queries, and the persisted side of each lifecycle change (the interview's
 * session decides when a change happens; this stores it with its webhook event).
 */
export class InterviewService {
  readonly #webhooks: WebhookOutbox | undefined;

  constructor(
    readonly database: Database,
    webhooks?: WebhookOutbox,
  ) {
    this.#webhooks = webhooks;
  }

  async create(input: { durationSeconds: number; candidateName?: string | undefined }): Promise<Interview> {
    const em = this.database.em();
    const interview = new Interview(input.durationSeconds, input.candidateName ?? null);
    await em.persistAndFlush(interview);
    return interview;
  }

  async find(id: string): Promise<Interview | null> {
    return this.database.em().findOne(Interview, { id });
  }

  async get(id: string): Promise<Interview> {
    const interview = await this.find(id);
    if (!interview) throw new AppError('not_found', `no interview with id ${id}`);
    return interview;
  }

  /** One page of interviews, newest first, and how many there are in all. */
  async page(query: { status?: InterviewStatus | undefined; limit?: number | undefined; offset?: number | undefined }): Promise<{ items: Interview[]; total: number }> {
    const [items, total] = await this.database
      .em()
      .findAndCount(Interview, query.status ? { status: query.status } : {}, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit, offset: query.offset });
    return { items, total };
  }

  async list(filter: { status?: InterviewStatus } = {}): Promise<Interview[]> {
    return this.database.em().find(Interview, filter.status ? { status: filter.status } : {}, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  async countLive(): Promise<number> {
    return this.database.em().count(Interview, { status: InterviewStatus.Live });
  }

  /** Marks the interview live when its media first flows; the clock starts now. */
  async markLive(id: string, now = new Date()): Promise<Interview> {
    const em = this.database.em();
    const interview = await em.findOne(Interview, { id });
    if (!interview) throw new AppError('not_found', `no interview with id ${id}`);
    if (interview.status !== InterviewStatus.Created) return interview;
    interview.moveTo(InterviewStatus.Live);
    interview.startedAt = now;
    interview.endsAt = new Date(now.getTime() + interview.durationSeconds * 1000);
    this.#webhooks?.record(em, 'interview.live', id, { startedAt: interview.startedAt.toISOString(), endsAt: interview.endsAt.toISOString() });
    await em.flush();
    this.#webhooks?.poke();
    return interview;
  }

  /** Keeps what the page reported about the latest screen share. */
  async setScreenSource(id: string, screenSource: ScreenSource): Promise<void> {
    const em = this.database.em();
    const interview = await em.findOne(Interview, { id });
    if (!interview) throw new AppError('not_found', `no interview with id ${id}`);
    interview.screenSource = screenSource;
    await em.flush();
  }


  /**
   * Stores the end: completedAt is set and it moves to finalizing (`endedNow`). Ending one that
   * has already ended changes nothing but a given score or notes.
   */
  async end(id: string, review: { score?: number | undefined; notes?: string | undefined } = {}, now = new Date()): Promise<{ interview: Interview; endedNow: boolean }> {
    const em = this.database.em();
    const interview = await em.findOne(Interview, { id });
    if (!interview) throw new AppError('not_found', `no interview with id ${id}`);
    if (review.score !== undefined) interview.score = review.score;
    if (review.notes !== undefined) interview.notes = review.notes;
    const endsNow = canTransition(interview.status, InterviewStatus.Finalizing) && interview.status !== InterviewStatus.Failed;
    if (endsNow) {
      interview.moveTo(InterviewStatus.Finalizing);
      interview.completedAt = now;
    }
    await em.flush();
    return { interview, endedNow: endsNow };
  }

  /** Delivery (re)starts: a failed interview goes back to finalizing. False: nothing to finalize. */
  async beginFinalizing(id: string): Promise<boolean> {
    const em = this.database.em();
    const interview = await em.findOneOrFail(Interview, { id });
    if (interview.status === InterviewStatus.Failed) interview.moveTo(InterviewStatus.Finalizing);
    if (interview.status !== InterviewStatus.Finalizing) return false;
    await em.flush();
    return true;
  }

  /** Delivered (or nothing was recorded: no URLs): the interview is completed. */
  async complete(id: string, urls: { screenVideo: string; candidateVideo: string } | undefined): Promise<Interview> {
    const em = this.database.em();
    const interview = await em.findOneOrFail(Interview, { id });
    if (urls) Object.assign(interview, urls);
    interview.failureReason = null;
    interview.moveTo(InterviewStatus.Completed);
    this.#webhooks?.record(em, 'interview.completed', id, {
      completedAt: interview.completedAt?.toISOString() ?? null,
      screenVideo: interview.screenVideo,
      candidateVideo: interview.candidateVideo,
    });
    await em.flush();
    this.#webhooks?.poke();
    return interview;
  }

  /** Delivery failed: kept with the reason, to be retried (retry-upload, or the next start). */
  async fail(id: string, reason: string): Promise<Interview> {
    const em = this.database.em();
    const interview = await em.findOneOrFail(Interview, { id });
    interview.failureReason = reason;
    interview.moveTo(InterviewStatus.Failed);
    this.#webhooks?.record(em, 'interview.failed', id, { reason });
    await em.flush();
    this.#webhooks?.poke();
    return interview;
  }
}
