import { EntitySchema } from '@mikro-orm/core';
import type { TimelineDetails, TimelineEventKind, TimelineEventSource } from '../../shared/timeline.ts';

/** Where an interview's timeline.vtt is kept in the bucket: beside its two recordings. */
export function timelineObjectKey(interviewId: string): string {
  return `interviews/${interviewId}/timeline.vtt`;
}

/** The interview of a timeline.vtt object key; undefined for any other key. */
export function parseTimelineObjectKey(key: string): { interviewId: string } | undefined {
  const match = /^interviews\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/timeline\.vtt$/.exec(key);
  return match ? { interviewId: match[1]! } : undefined;
}

/**
 * One stored entry of an interview's append-only event log (`timeline_events`), keyed by the
 * interview and its sequence number there. Rows are only ever added; two columns change after:
 * `media_seconds`, recomputed once from the finalized segments, and the `count` detail of the
 * interview's one `events_dropped` entry (server/timeline/InterviewTimeline.ts).
 */
export class TimelineEntry {
  interviewId: string;
  seq: number;
  kind: TimelineEventKind;
  source: TimelineEventSource;
  /** The server's clock. */
  at: Date;
  /** The candidate's browser clock, for a page's report. */
  browserAt: Date | null;
  mediaSeconds: number | null;
  details: TimelineDetails;

  constructor(fields: { interviewId: string; seq: number; kind: TimelineEventKind; source: TimelineEventSource; at: Date; browserAt: Date | null; mediaSeconds: number | null; details: TimelineDetails }) {
    this.interviewId = fields.interviewId;
    this.seq = fields.seq;
    this.kind = fields.kind;
    this.source = fields.source;
    this.at = fields.at;
    this.browserAt = fields.browserAt;
    this.mediaSeconds = fields.mediaSeconds;
    this.details = fields.details;
  }
}

export const TimelineEntrySchema = new EntitySchema<TimelineEntry>({
  class: TimelineEntry,
  tableName: 'timeline_events',
  properties: {
    interviewId: { type: 'string', primary: true, length: 36 },
    seq: { type: 'integer', primary: true },
    kind: { type: 'string', length: 40 },
    source: { type: 'string', length: 16 },
    at: { type: 'datetime' },
    browserAt: { type: 'datetime', nullable: true },
    mediaSeconds: { type: 'double', nullable: true },
    details: { type: 'json' },
  },
});
