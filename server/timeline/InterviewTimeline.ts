import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { CANDIDATE_EVENT_KINDS, SERVER_EVENT_KINDS, type CandidateEventKind, type ServerEventKind, type TimelineDetails, type TimelineEvent, type TimelineEventKind, type TimelineEventSource } from '../../shared/timeline.ts';
import type { Database } from '../db/Database.ts';
import { AppError } from '../errors.ts';
import { Interview } from '../db/Interview.ts';
import { TimelineEntry } from '../db/TimelineEntry.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import type { MediaPath } from './mediaPath.ts';
import { ResolutionWatch } from './resolution.ts';
import { mediaSecondsAt, readSegmentTimes, type SegmentTime } from './mediaTime.ts';
import { DEFAULT_REPORT_LIMITS, ReportAllowance, type ReportLimits } from './ReportAllowance.ts';
import { findTimelineEntries, toTimelineEvent } from './timelineStore.ts';

/** Runs writes one at a time, in order; one that fails does not stop the next (its caller gets the error). */
class WriteChain {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** How long the live estimate reuses the segments' times read from disk. */
const SEGMENT_CACHE_MS = 5000;
/** Rows per statement when the media times are recomputed at finalize. */
const UPDATE_CHUNK = 400;

/** How often the count of the interview's `events_dropped` entry is brought up to date while a flood goes on. */
const DROPPED_FLUSH_MS = 1000;

export interface InterviewTimelineOptions {
  interviewId: string;
  database: Database;
  /** The interview's recording directory (its segments tell the media times). */
  recordingDir: string;
  logger: Logger;
  webhooks?: WebhookOutbox | undefined;
  /** Kinds that send `interview.flagged` (FLAG_EVENTS). */
  flagKinds?: ReadonlySet<TimelineEventKind> | undefined;
  limits?: ReportLimits | undefined;
}

export type InterviewTimelineEvents = {
  /** An entry was stored — or, for `events_dropped`, its count changed (same seq). */
  event: [event: TimelineEvent];
};

/**
 * One interview's append-only event log. The server's clock decides each event's time (`at`); the
 * browser's is kept beside it. `mediaSeconds` is estimated from the recording's segments as the
 * event is stored and recomputed from their measured durations at finalize (`recomputeMediaTimes`).
 *
 * A candidate's reports are bounded per interview (ReportAllowance): what is refused is counted in
 * ONE `events_dropped` entry per interview, stored at the first refusal and whose `count` (and
 * `lastAt`) is updated — the only entry whose details change after it is stored.
 *
 * Writes run one at a time on the timeline's own queue (not the session's: a page's reports never
 * wait behind a finalize, nor hold up the end).
 */
export class InterviewTimeline extends EventEmitter<InterviewTimelineEvents> {
  readonly interviewId: string;
  readonly #options: InterviewTimelineOptions;
  readonly #queue = new WriteChain();
  /** Segment starts this process saw before they reached the disk (the file is written in the background). */
  readonly #segmentStarts = new Map<number, Date>();
  #loaded: Promise<void> | undefined;
  #nextSeq = 1;
  #allowance: ReportAllowance | undefined;
  #dropped: { seq: number | undefined; count: number; lastAt: Date; stored: number } | undefined;
  #droppedTimer: NodeJS.Timeout | undefined;
  #closedForReports = false;
  #mediaPath: MediaPath | undefined;
  readonly #resolution = new ResolutionWatch();
  /** The segments' times as last read from disk, reused for a while (a report must not cost a directory scan). */
  #segmentCache: { times: SegmentTime[]; readAt: number } | undefined;

  constructor(options: InterviewTimelineOptions) {
    super();
    this.interviewId = options.interviewId;
    this.#options = options;
  }

  /** The seq and allowance already used, read once from the stored log. */
  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      const em = this.#options.database.em();
      const entries = await em.find(TimelineEntry, { interviewId: this.interviewId }, { fields: ['seq', 'kind', 'source', 'details'], orderBy: { seq: 'asc' } });
      this.#nextSeq = (entries.at(-1)?.seq ?? 0) + 1;
      const candidate = entries.filter((entry) => entry.source === 'candidate').length;
      this.#allowance = new ReportAllowance(this.#options.limits ?? DEFAULT_REPORT_LIMITS, candidate);
      const dropped = entries.find((entry) => entry.kind === 'events_dropped');
      if (dropped) {
        const count = typeof dropped.details.count === 'number' ? dropped.details.count : 0;
        this.#dropped = { seq: dropped.seq, count, lastAt: new Date(), stored: count };
      }
    })().catch((error: unknown) => {
      this.#loaded = undefined;
      throw error;
    });
    return this.#loaded;
  }

  /** A segment's media began at `at` (the recording's own event; its file on disk follows). */
  segmentFlowing(index: number, at: Date): void {
    this.#segmentStarts.set(index, at);
    this.#segmentCache = undefined;
  }

  /** The candidate's media path as its send transport selected it: `media_path` the first time, `media_path_changed` when it differs. */
  observeMediaPath(path: MediaPath): void {
    if (this.#mediaPath === path) return;
    const from = this.#mediaPath;
    this.#mediaPath = path;
    void this.record(from ? 'media_path_changed' : 'media_path', from ? { path, from } : { path });
  }

  /** The screen's received size (its key frames): `resolution_dropped` / `_recovered` on lasting changes. */
  observeScreenSize(width: number, height: number): void {
    const decided = this.#resolution.observe(width, height);
    if (decided) void this.record(decided.change === 'dropped' ? 'resolution_dropped' : 'resolution_recovered', { width, height, largestWidth: decided.from.width, largestHeight: decided.from.height });
  }

  /** The interview ended: a page's reports are refused from now on. */
  closeForReports(): void {
    this.#closedForReports = true;
  }

  /** Something the server itself observed, at its own time (now unless given). */
  record(kind: ServerEventKind, details: TimelineDetails = {}, at = new Date()): Promise<TimelineEvent | undefined> {
    if (!(SERVER_EVENT_KINDS as readonly string[]).includes(kind)) throw new Error(`${kind} is not a server event kind`);
    return this.#append({ kind, source: 'server', at, browserAt: null, details }).catch((error: unknown) => {
      this.#options.logger.error({ err: error, kind }, 'could not store a timeline event');
      return undefined;
    });
  }

  /**
   * A candidate page's report: stored (accepted) if the interview's allowance has room, else
   * refused and counted in the interview's `events_dropped` entry. Refused after the end.
   */
  async report(kind: CandidateEventKind, browserAtMs: number, details: TimelineDetails = {}): Promise<{ accepted: boolean }> {
    const at = new Date();
    // The request schema allows only these; checked again here, where the log is written.
    if (!(CANDIDATE_EVENT_KINDS as readonly string[]).includes(kind)) throw new AppError('invalid_input', `${String(kind).slice(0, 40)} is not an event a page may report`, 'kind');
    if (this.#closedForReports) return { accepted: false };
    await this.#load();
    if (this.#closedForReports) return { accepted: false };
    if (!this.#allowance!.take()) {
      this.#countDropped(at);
      return { accepted: false };
    }
    const browserAt = new Date(browserAtMs);
    try {
      await this.#append({ kind, source: 'candidate', at, browserAt: Number.isNaN(browserAt.getTime()) ? null : browserAt, details });
      return { accepted: true };
    } catch (error) {
      this.#allowance!.giveBack();
      throw error;
    }
  }

  #countDropped(at: Date): void {
    if (!this.#dropped) {
      this.#dropped = { seq: undefined, count: 0, lastAt: at, stored: 0 };
      this.#options.logger.warn('a page reports more timeline events than it may; the surplus is refused and counted');
      const dropped = this.#dropped;
      void this.#append({ kind: 'events_dropped', source: 'server', at, browserAt: null, details: { count: 1, lastAt: at.toISOString() } })
        .then((event) => {
          dropped.seq = event.seq;
          dropped.stored = 1;
        })
        .catch((error: unknown) => this.#options.logger.error({ err: error }, 'could not store events_dropped'));
    }
    this.#dropped.count++;
    this.#dropped.lastAt = at;
    if (!this.#droppedTimer) {
      this.#droppedTimer = setTimeout(() => {
        this.#droppedTimer = undefined;
        void this.flushDropped();
      }, DROPPED_FLUSH_MS);
      this.#droppedTimer.unref();
    }
  }

  /** Stores the current count of refused reports (also at the end, before the log is read for delivery). */
  flushDropped(): Promise<void> {
    return this.#queue
      .run(async () => {
        const dropped = this.#dropped;
        if (!dropped || dropped.seq === undefined || dropped.count === dropped.stored) return;
        const count = dropped.count;
        const em = this.#options.database.em();
        const entry = await em.findOne(TimelineEntry, { interviewId: this.interviewId, seq: dropped.seq });
        if (!entry) return;
        entry.details = { ...entry.details, count, lastAt: dropped.lastAt.toISOString() };
        await em.flush();
        dropped.stored = count;
        this.emit('event', toTimelineEvent(entry));
      })
      .catch((error: unknown) => this.#options.logger.error({ err: error }, 'could not update events_dropped'));
  }

  async #append(fields: { kind: TimelineEventKind; source: TimelineEventSource; at: Date; browserAt: Date | null; details: TimelineDetails }): Promise<TimelineEvent> {
    // Queued at once (the log's order is the order of the calls), loaded inside.
    return this.#queue.run(async () => {
      await this.#load();
      const mediaSeconds = mediaSecondsAt(fields.at, await this.#liveSegmentTimes());
      const em = this.#options.database.em();
      const entry = new TimelineEntry({ interviewId: this.interviewId, seq: this.#nextSeq, mediaSeconds, ...fields });
      const flagged = this.#options.flagKinds?.has(fields.kind) && this.#options.webhooks;
      if (flagged) {
        // The entry and its webhook in one transaction (the outbox's rows are written by the flush).
        em.persist(entry);
        const interview = await em.findOne(Interview, { id: this.interviewId });
        if (interview) this.#options.webhooks!.record(em, 'interview.flagged', interview, { event: toTimelineEvent(entry) });
        await em.flush();
      } else {
        // One INSERT, without the unit of work's bookkeeping: a third of persist + flush's CPU
        // (0.5 against 1.7 ms an entry on SQLite here), and every entry a page reports costs it.
        await em.insert(TimelineEntry, entry);
      }
      this.#nextSeq++;
      if (flagged) this.#options.webhooks!.poke();
      const event = toTimelineEvent(entry);
      this.emit('event', event);
      return event;
    });
  }

  /**
   * For the live estimate: the segments as read at most SEGMENT_CACHE_MS ago. A new segment's start
   * reaches this process first (segmentFlowing), which drops the cache; an earlier segment's length
   * changes no more once the next one began.
   */
  async #liveSegmentTimes(): Promise<SegmentTime[]> {
    const cached = this.#segmentCache;
    if (cached && Date.now() - cached.readAt < SEGMENT_CACHE_MS) return cached.times;
    const times = await this.#segmentTimes();
    this.#segmentCache = { times, readAt: Date.now() };
    return times;
  }

  async #segmentTimes(): Promise<SegmentTime[]> {
    const times = await readSegmentTimes(this.#options.recordingDir);
    for (const time of times) time.mediaStartedAt ??= this.#segmentStarts.get(time.index);
    return times;
  }

  /**
   * At finalize, before the log is published (VTT, webhook): every event's media time from the
   * segments' measured durations. Returns the log as stored then.
   */
  async recomputeMediaTimes(): Promise<TimelineEvent[]> {
    await this.flushDropped();
    return this.#queue.run(async () => {
      this.#segmentCache = undefined;
      const segments = await this.#segmentTimes();
      const em = this.#options.database.em();
      const entries = await findTimelineEntries(em, this.interviewId);
      // No segment on disk (delivered already, or restored elsewhere): the stored times stand.
      if (segments.length === 0) return entries.map(toTimelineEvent);
      const changed: Array<{ seq: number; mediaSeconds: number | null }> = [];
      const events = entries.map((entry) => {
        const event = toTimelineEvent(entry);
        const mediaSeconds = mediaSecondsAt(entry.at, segments);
        if (mediaSeconds !== entry.mediaSeconds) changed.push({ seq: entry.seq, mediaSeconds });
        return { ...event, mediaSeconds };
      });
      // One statement per chunk, not one per row (2,000 rows through the ORM's unit of work took seconds).
      for (let i = 0; i < changed.length; i += UPDATE_CHUNK) {
        const chunk = changed.slice(i, i + UPDATE_CHUNK);
        const cases = chunk.map(() => 'when ? then cast(? as double precision)').join(' ');
        const params = [...chunk.flatMap(({ seq, mediaSeconds }) => [seq, mediaSeconds]), this.interviewId, ...chunk.map(({ seq }) => seq)];
        await em.getConnection().execute(`update timeline_events set media_seconds = case seq ${cases} end where interview_id = ? and seq in (${chunk.map(() => '?').join(', ')})`, params);
      }
      return events;
    });
  }

  close(): void {
    clearTimeout(this.#droppedTimer);
    this.#droppedTimer = undefined;
  }
}
