import type { EntityManager } from '@mikro-orm/core';
import type { TimelineEvent, TimelineSummary } from '../../shared/timeline.ts';
import type { Database } from '../db/Database.ts';
import { TimelineEntry } from '../db/TimelineEntry.ts';

/** A stored entry as the API, webhooks and pages see it. */
export function toTimelineEvent(entry: TimelineEntry): TimelineEvent {
  return {
    seq: entry.seq,
    kind: entry.kind,
    source: entry.source,
    at: entry.at.toISOString(),
    browserAt: entry.browserAt?.toISOString() ?? null,
    mediaSeconds: entry.mediaSeconds,
    details: entry.details,
  };
}

/** An interview's stored entries, in the order they were stored (seq). */
export function findTimelineEntries(em: EntityManager, interviewId: string): Promise<TimelineEntry[]> {
  return em.find(TimelineEntry, { interviewId }, { orderBy: { seq: 'asc' } });
}

/** An interview's events, in the order they were stored (seq). Pure read: any node, any time. */
export async function listTimelineEvents(database: Database | { em(): EntityManager }, interviewId: string): Promise<TimelineEvent[]> {
  return (await findTimelineEntries(database.em(), interviewId)).map(toTimelineEvent);
}

/** Counts by kind (the `interview.completed` webhook's `timeline`). */
export function summarizeTimeline(events: readonly Pick<TimelineEvent, 'kind'>[]): TimelineSummary {
  const summary: TimelineSummary = {};
  for (const { kind } of events) summary[kind] = (summary[kind] ?? 0) + 1;
  return summary;
}
