import { EventEmitter } from 'node:events';
import type { Database } from '../db/Database.ts';
import { Interview, type RecordingGap } from '../db/Interview.ts';
import type { ScreenSource } from '../signaling/protocol.ts';
import { AppError } from '../errors.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import { InterviewStatus, canTransition } from './InterviewStatus.ts';

export type EndCause = 'timer' | 'proctor' | 'admin';

export type InterviewServiceEvents = {
  live: [interview: Interview];
  ended: [interview: Interview, cause: EndCause];
};

/** What the admin API and the pages see of an interview. */
export interface InterviewView {
  id: string;
  status: InterviewStatus;
  durationSeconds: number;
  candidateName: string | null;
  createdAt: string;
  startedAt: string | null;
  endsAt: string | null;
  completedAt: string | null;
  screenVideo: string;
  candidateVideo: string;
  score: number;
  notes: string;
  failureReason: string | null;
  /** Stretches missing from the recording (outages, restarts), with their cause. */
  gaps: RecordingGap[];
  /** When the recordings were deleted (request or retention); null while they are kept. */
  recordingsDeletedAt: string | null;
  /**
   * The shared screen as the candidate's browser described it: `monitor` (the browser said so, or
   * its size and label match a whole screen) or `unverified` (accepted without proof); null before
   * a share. Reported by the page, so it is evidence, not a guarantee.
   */
  screenSource: ScreenSource | null;
}

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

/** Interview lifecycle: every persisted state change goes through here. */
export class InterviewService extends EventEmitter<InterviewServiceEvents> {
  readonly #webhooks: WebhookOutbox | undefined;

  constructor(
    readonly database: Database,
    webhooks?: WebhookOutbox,
  ) {
    super();
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
    this.emit('live', interview);
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

  /** A failed interview goes back to finalizing, to be finalized again (retry-upload). */
  async retryFinalizing(id: string): Promise<Interview> {
    const em = this.database.em();
    const interview = await em.findOne(Interview, { id });
    if (!interview) throw new AppError('not_found', `no interview with id ${id}`);
    if (interview.status !== InterviewStatus.Failed) {
      throw new AppError('conflict', `only a failed interview can be retried; this one is ${interview.status}`);
    }
    interview.moveTo(InterviewStatus.Finalizing);
    await em.flush();
    return interview;
  }

  /**
   * Ends the interview now: completedAt is set and it moves to finalizing. Ending one that has
   * already ended is a no-op that still records a given score or notes.
   */
  async end(id: string, cause: EndCause, review: { score?: number | undefined; notes?: string | undefined } = {}, now = new Date()): Promise<Interview> {
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
    if (endsNow) this.emit('ended', interview, cause);
    return interview;
  }
}
