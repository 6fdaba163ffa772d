import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { TimelineSummary } from '../../shared/timeline.ts';
import type { Database } from '../db/Database.ts';
import { Interview } from '../db/Interview.ts';
import type { InterviewView } from '../../shared/vocabulary.ts';

export type { InterviewView } from '../../shared/vocabulary.ts';
import type { ScreenSource } from '../../shared/protocol.ts';
import { AppError } from '../errors.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import { InterviewStatus, statusesMovingTo } from '../db/InterviewStatus.ts';
import { NO_AUTOMATIC_RETRIES, nextRetryAt, type FailedRetrySchedule } from './FailedRetrySchedule.ts';

export type EndCause = 'timer' | 'proctor' | 'admin';

/** What a create asks for (validated by the API); a repeat with the same externalId must ask the same. */
export interface NewInterview {
  durationSeconds: number;
  candidateName?: string | undefined;
  externalId?: string | undefined;
  returnUrl?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** JSON with every object's keys sorted: PostgreSQL's jsonb does not keep the order they were given in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner,
  );
}

/** The fields of `input` that the stored interview has otherwise (empty: the same create). */
function differencesFrom(interview: Interview, input: NewInterview): string[] {
  const differences: string[] = [];
  if (interview.durationSeconds !== input.durationSeconds) differences.push('durationSeconds');
  if (interview.candidateName !== (input.candidateName ?? null)) differences.push('candidateName');
  if (interview.returnUrl !== (input.returnUrl ?? null)) differences.push('returnUrl');
  if (canonicalJson(interview.metadata) !== canonicalJson(input.metadata ?? null)) differences.push('metadata');
  return differences;
}

/** The interview a repeated create names, if it asked for the same; a 409 naming externalId otherwise. */
function sameCreateOrConflict(interview: Interview, input: NewInterview): Interview {
  const differences = differencesFrom(interview, input);
  if (differences.length === 0) return interview;
  throw new AppError('conflict', `externalId: an interview with this externalId exists with another ${differences.join(', ')}`, 'externalId');
}

export function toView(interview: Interview): InterviewView {
  return {
    id: interview.id,
    externalId: interview.externalId,
    status: interview.status,
    durationSeconds: interview.durationSeconds,
    candidateName: interview.candidateName,
    createdAt: interview.createdAt.toISOString(),
    startedAt: interview.startedAt?.toISOString() ?? null,
    endsAt: interview.endsAt?.toISOString() ?? null,
    completedAt: interview.completedAt?.toISOString() ?? null,
    screenVideo: interview.screenVideo,
    candidateVideo: interview.candidateVideo,
    timelineVtt: interview.timelineVtt,
    score: interview.score,
    notes: interview.notes,
    failureReason: interview.failureReason,
    gaps: interview.gaps,
    recordingsDeletedAt: interview.recordingsDeletedAt?.toISOString() ?? null,
    screenSource: interview.screenSource,
    returnUrl: interview.returnUrl,
    metadata: interview.metadata,
    // Only a failed interview waits for a retry; during one (finalizing) the stored value is the one it is running.
    nextRetryAt: interview.status === InterviewStatus.Failed ? (interview.nextRetryAt?.toISOString() ?? null) : null,
  };
}

/**
 * The stored interviews: queries, and the persisted side of each lifecycle change (the interview's
 * session decides when a change happens; this stores it with its webhook event).
 */
export class InterviewService {
  readonly #webhooks: WebhookOutbox | undefined;
  readonly #retrySchedule: FailedRetrySchedule;

  constructor(
    readonly database: Database,
    webhooks?: WebhookOutbox,
    options: { retrySchedule?: FailedRetrySchedule } = {},
  ) {
    this.#webhooks = webhooks;
    this.#retrySchedule = options.retrySchedule ?? NO_AUTOMATIC_RETRIES;
  }

  /**
   * Stores a new interview. With an externalId that another create stored first (a retried or
   * racing create: the unique index lets one in), that interview is returned instead, `created`
   * false — or a 409 naming externalId when it was asked for with other values.
   */
  async create(input: NewInterview): Promise<{ interview: Interview; created: boolean }> {
    const interview = new Interview(input.durationSeconds, input.candidateName ?? null, {
      externalId: input.externalId ?? null,
      returnUrl: input.returnUrl ?? null,
      metadata: input.metadata ?? null,
    });
    try {
      await this.database.em().persistAndFlush(interview);
      return { interview, created: true };
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException) || input.externalId === undefined) throw error;
      const first = await this.#findByExternalId(input.externalId);
      if (!first) throw error;
      return { interview: sameCreateOrConflict(first, input), created: false };
    }
  }

  /**
   * A create repeated with an externalId already stored: that interview when asked for with the
   * same values (the create is idempotent), a 409 naming externalId otherwise; undefined when the
   * externalId is new (or none is given).
   */
  async repeatedCreate(input: NewInterview): Promise<Interview | undefined> {
    if (input.externalId === undefined) return undefined;
    const existing = await this.#findByExternalId(input.externalId);
    return existing ? sameCreateOrConflict(existing, input) : undefined;
  }

  async #findByExternalId(externalId: string): Promise<Interview | null> {
    return this.database.em().findOne(Interview, { externalId });
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
  async page(query: { status?: InterviewStatus | undefined; externalId?: string | undefined; limit?: number | undefined; offset?: number | undefined }): Promise<{ items: Interview[]; total: number }> {
    const where = { ...(query.status ? { status: query.status } : {}), ...(query.externalId !== undefined ? { externalId: query.externalId } : {}) };
    const [items, total] = await this.database.em().findAndCount(Interview, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit, offset: query.offset });
    return { items, total };
  }

  async list(filter: { status?: InterviewStatus } = {}): Promise<Interview[]> {
    return this.database.em().find(Interview, filter.status ? { status: filter.status } : {}, { orderBy: { createdAt: 'desc', id: 'desc' } });
  }

  async countLive(): Promise<number> {
    return this.database.em().count(Interview, { status: InterviewStatus.Live });
  }

  /** Marks the interview live when its media first flows; the clock starts at `now` (the caller passes when that was). */
  async markLive(id: string, now = new Date()): Promise<Interview> {
    const em = this.database.em();
    const interview = await em.findOne(Interview, { id });
    if (!interview) throw new AppError('not_found', `no interview with id ${id}`);
    if (interview.status !== InterviewStatus.Created) return interview;
    interview.moveTo(InterviewStatus.Live);
    interview.startedAt = now;
    interview.endsAt = new Date(now.getTime() + interview.durationSeconds * 1000);
    this.#webhooks?.record(em, 'interview.live', interview, { startedAt: interview.startedAt.toISOString(), endsAt: interview.endsAt.toISOString() });
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
   * Stores the end: completedAt is set and it moves to finalizing (`endedNow`), claimed for
   * finalization by `claim.node`. A compare-and-set on the status: of two nodes ending one
   * interview at once only one sees `endedNow` (the other's update matches no row). Ending one
   * that has already ended changes nothing but a given score or notes.
   */
  async end(id: string, review: { score?: number | undefined; notes?: string | undefined }, claim: FinalizationClaimTerms, now = new Date()): Promise<{ interview: Interview; endedNow: boolean }> {
    const em = this.database.em();
    // A failed interview has ended too: it moves to finalizing only through a retry.
    const endable = statusesMovingTo(InterviewStatus.Finalizing).filter((status) => status !== InterviewStatus.Failed);
    const endedNow =
      (await em.nativeUpdate(
        Interview,
        { id, status: { $in: endable } },
        { status: InterviewStatus.Finalizing, completedAt: now, finalizingNode: claim.node, claimExpiresAt: new Date(now.getTime() + claim.ttlMs) },
      )) === 1;
    const interview = await em.findOne(Interview, { id });
    if (!interview) throw new AppError('not_found', `no interview with id ${id}`);
    if (review.score !== undefined) interview.score = review.score;
    if (review.notes !== undefined) interview.notes = review.notes;
    await em.flush();
    return { interview, endedNow };
  }

  /** A failed interview goes back to finalizing (retry-upload, or a start); false: it had not failed. */
  async reopenFailed(id: string): Promise<boolean> {
    const moved = await this.database
      .em()
      .nativeUpdate(Interview, { id, status: InterviewStatus.Failed }, { status: InterviewStatus.Finalizing, finalizingNode: null, claimExpiresAt: null });
    return moved === 1;
  }

  /**
   * A failed interview whose automatic retry is due goes back to finalizing, claimed for
   * finalization by `claim.node` in the same update: a compare-and-set on the status, so of the
   * nodes that found it due only one gets `true` and delivers it.
   */
  async reopenDueRetry(id: string, claim: FinalizationClaimTerms, now = new Date()): Promise<boolean> {
    const moved = await this.database
      .em()
      .nativeUpdate(
        Interview,
        { id, status: InterviewStatus.Failed, nextRetryAt: { $lte: now } },
        { status: InterviewStatus.Finalizing, finalizingNode: claim.node, claimExpiresAt: new Date(now.getTime() + claim.ttlMs) },
      );
    return moved === 1;
  }

  /** Failed interviews whose automatic retry is due, the longest-waiting first. */
  async dueRetries(now = new Date()): Promise<Interview[]> {
    return this.database.em().find(Interview, { status: InterviewStatus.Failed, nextRetryAt: { $lte: now } }, { orderBy: { nextRetryAt: 'asc' } });
  }

  /**
   * Claims the finalization of an ended interview for `claim.node`: taken when nobody holds it,
   * this node already does (its previous run: NODE_IDs are unique among live nodes), or the
   * holder's claim expired (it died). False: not finalizing, or another live node finalizes it.
   */
  async claimFinalization(id: string, claim: FinalizationClaimTerms, now = new Date()): Promise<boolean> {
    const claimed = await this.database.em().nativeUpdate(
      Interview,
      { id, status: InterviewStatus.Finalizing, $or: [{ finalizingNode: null }, { finalizingNode: claim.node }, { claimExpiresAt: { $lt: now } }] },
      { finalizingNode: claim.node, claimExpiresAt: new Date(now.getTime() + claim.ttlMs) },
    );
    return claimed === 1;
  }

  /** Extends this node's claim; false when it is no longer this node's (it expired and was taken). */
  async renewFinalizationClaim(id: string, claim: FinalizationClaimTerms, now = new Date()): Promise<boolean> {
    const renewed = await this.database
      .em()
      .nativeUpdate(Interview, { id, status: InterviewStatus.Finalizing, finalizingNode: claim.node }, { claimExpiresAt: new Date(now.getTime() + claim.ttlMs) });
    return renewed === 1;
  }

  /** Ended interviews nobody finalizes: unclaimed, or their finalizer's claim expired (it died). */
  async abandonedFinalizations(now = new Date()): Promise<Interview[]> {
    return this.database.em().find(Interview, { status: InterviewStatus.Finalizing, $or: [{ finalizingNode: null }, { claimExpiresAt: { $lt: now } }] }, { orderBy: { completedAt: 'asc' } });
  }

  /**
   * Delivered (or nothing was recorded: no URLs): the interview is completed, with its webhook
   * event in the same transaction — if `node` still holds the finalization claim. Undefined: it
   * does not (its claim expired and another node took the delivery over), and nothing changed.
   */
  async complete(
    id: string,
    urls: { screenVideo: string; candidateVideo: string; timelineVtt?: string } | undefined,
    node: string,
    timeline: TimelineSummary = {},
  ): Promise<Interview | undefined> {
    return this.#settle(
      id,
      node,
      () => ({ ...(urls ?? {}), status: InterviewStatus.Completed, failureReason: null, nextRetryAt: null }),
      (em, interview) =>
        this.#webhooks?.record(em, 'interview.completed', interview, {
          completedAt: interview.completedAt?.toISOString() ?? null,
          screenVideo: interview.screenVideo,
          candidateVideo: interview.candidateVideo,
          timelineVtt: interview.timelineVtt,
          timeline,
        }),
    );
  }

  /**
   * Delivery failed: kept with the reason, and with when the service tries again by itself (its
   * retry schedule; null past the bound); undefined as for `complete`. Its `interview.failed`
   * event is recorded only when the outcome is news: the first failure of a run (it was not failed
   * before), or the failure after which no automatic retry is due any more. A retry that fails again
   * while more retries are due records nothing.
   */
  async fail(id: string, reason: string, node: string, now = new Date()): Promise<Interview | undefined> {
    return this.#settle(
      id,
      node,
      (before) => {
        const failedDeliveries = before.failedDeliveries + 1;
        return { status: InterviewStatus.Failed, failureReason: reason, failedDeliveries, nextRetryAt: nextRetryAt(this.#retrySchedule, failedDeliveries, before.completedAt ?? now, now) };
      },
      (em, interview, before) => {
        const firstFailure = before.failedDeliveries === 0;
        const retriesOver = before.nextRetryAt !== null && interview.nextRetryAt === null;
        if (firstFailure || retriesOver) this.#webhooks?.record(em, 'interview.failed', interview, { reason, nextRetryAt: interview.nextRetryAt?.toISOString() ?? null });
      },
    );
  }

  /**
   * The finalization's outcome, stored by a compare-and-set on the claim, with its webhook event
   * (given the interview before and after the change).
   */
  async #settle(
    id: string,
    node: string,
    changesOf: (before: Settled) => Partial<Pick<Interview, 'status' | 'screenVideo' | 'candidateVideo' | 'timelineVtt' | 'failureReason' | 'failedDeliveries' | 'nextRetryAt'>>,
    recordEvent: (em: EntityManager, interview: Interview, before: Settled) => void,
  ): Promise<Interview | undefined> {
    const settled = await this.database.em().transactional(async (em) => {
      const current = await em.findOne(Interview, { id }, { refresh: true });
      if (!current) return undefined;
      const before: Settled = { failedDeliveries: current.failedDeliveries, nextRetryAt: current.nextRetryAt, completedAt: current.completedAt };
      const moved = await em.nativeUpdate(Interview, { id, status: InterviewStatus.Finalizing, finalizingNode: node }, { ...changesOf(before), finalizingNode: null, claimExpiresAt: null });
      if (moved !== 1) return undefined;
      const interview = await em.findOneOrFail(Interview, { id }, { refresh: true });
      recordEvent(em, interview, before);
      return interview;
    });
    if (settled) this.#webhooks?.poke();
    return settled;
  }
}

/** What a settled interview was before its outcome was stored. */
type Settled = Pick<Interview, 'failedDeliveries' | 'nextRetryAt' | 'completedAt'>;

/** Which node claims an interview's finalization, and for how long unless renewed. */
export interface FinalizationClaimTerms {
  node: string;
  ttlMs: number;
}
