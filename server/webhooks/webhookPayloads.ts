// The webhooks' payloads, once: the zod schemas the outbox builds every event's `data` through,
// and from which the OpenAPI document's `webhooks` section is generated.
import { z } from 'zod';
import { GAP_CAUSES } from '../../shared/vocabulary.ts';
import { TIMELINE_EVENT_KINDS, type TimelineDetailValue, type TimelineEventKind } from '../../shared/timeline.ts';
import type { WebhookEventType } from '../db/WebhookEvent.ts';

/** A stretch missing from an interview's recording, and why (also in the admin API's `gaps`). */
export const recordingGap = z.object({ start: z.string().datetime(), end: z.string().datetime().nullable(), cause: z.enum(GAP_CAUSES) });

const timelineKind = z.enum(TIMELINE_EVENT_KINDS as [TimelineEventKind, ...TimelineEventKind[]]);

/** One entry of an interview's timeline (also what GET /api/interviews/:id/events lists). */
export const timelineEvent = z.object({
  seq: z.number().int().positive().describe('1, 2, 3, … per interview, in the order the server stored them'),
  kind: timelineKind,
  source: z.enum(['candidate', 'server']).describe("Who observed it: the candidate's page (evidence, not proof) or the server"),
  at: z.string().datetime().describe("The server's clock when it happened"),
  browserAt: z.string().datetime().nullable().describe("The candidate's browser clock, for a page's report; null for the server's own"),
  mediaSeconds: z.number().nullable().describe('Seconds into both recordings; null before the recording began. Recomputed from the finalized files at the end'),
  details: z.record(z.union([z.string(), z.number(), z.boolean(), z.null()]) satisfies z.ZodType<TimelineDetailValue>).describe('Small flat details (a gap\'s cause, the media path, a count, …)'),
});

/** Counts of the interview's events by kind. */
const timelineSummary = z.record(timelineKind, z.number().int().nonnegative()).describe("Counts of the interview's timeline events by kind (kinds that did not happen are absent)");

/** Every event names its interview: our id, and what the host app gave at creation. */
const interviewFields = {
  interviewId: z.string().uuid().describe("This service's id of the interview"),
  externalId: z.string().nullable().describe("The host app's own id, given at creation; null when none was"),
  metadata: z.record(z.unknown()).nullable().describe("The host app's JSON object, given at creation; null when none was"),
};

/** Each event type's `data`. */
export const webhookData = {
  'interview.live': z
    .object({
      ...interviewFields,
      startedAt: z.string().datetime().describe('When media first reached the recording: the clock started'),
      endsAt: z.string().datetime().describe('When the server-side timer ends it'),
    })
    .describe('Media reached the server: the interview is live and its clock runs'),
  'interview.completed': z
    .object({
      ...interviewFields,
      completedAt: z.string().datetime().nullable().describe('When it ended'),
      screenVideo: z.string().describe('Stable stored URL of screen.webm (screen + audio); empty when nothing was recorded'),
      candidateVideo: z.string().describe('Stable stored URL of candidate.webm (camera + audio); empty when nothing was recorded'),
      timelineVtt: z.string().describe('Stable stored URL of timeline.vtt (the events as WebVTT cues at their media times); empty when nothing was recorded'),
      timeline: timelineSummary,
    })
    .describe('Both recordings are stored (or nothing was recorded)'),
  'interview.failed': z
    .object({
      ...interviewFields,
      reason: z.string().describe('Why saving the recordings failed; they are kept on the server'),
      nextRetryAt: z
        .string()
        .datetime()
        .nullable()
        .describe('When the service tries again by itself; null: it will not (past FAILED_UPLOAD_RETRY_DAYS after the end, or automatic retries are off), and only retry-upload or a service start retries it'),
    })
    .describe(
      'Saving the recordings failed. Sent when the interview first fails, and once more (nextRetryAt null) if the automatic retries run out; a retry that fails again while more are due sends nothing, and a retry that succeeds sends interview.completed',
    ),
  'interview.gap': z.object({ ...interviewFields, gap: recordingGap }).describe('A stretch is missing from the recording (an outage, a restart), with its cause'),
  'interview.flagged': z
    .object({ ...interviewFields, event: timelineEvent })
    .describe('An event of a kind the operator flags (FLAG_EVENTS) was stored in the timeline; sent once per such event, as it is stored (its mediaSeconds is the live estimate)'),
} satisfies Record<WebhookEventType, z.AnyZodObject>;

export type WebhookData<T extends WebhookEventType> = z.infer<(typeof webhookData)[T]>;

/** What the code that records an event gives: the event's own fields (the interview's are added from it). */
export type WebhookFields<T extends WebhookEventType> = Omit<WebhookData<T>, keyof typeof interviewFields>;

/** The interview an event is about, as stored. */
export interface WebhookSubject {
  id: string;
  externalId: string | null;
  metadata: Record<string, unknown> | null;
}

/** An event's `data`: the interview's id, externalId and metadata, then the event's own fields. */
export function webhookDataOf<T extends WebhookEventType>(subject: WebhookSubject, fields: WebhookFields<T>): WebhookData<T> {
  return { interviewId: subject.id, externalId: subject.externalId, metadata: subject.metadata, ...fields } as WebhookData<T>;
}

/** The body POSTed (Standard Webhooks' shape): the type, when the event happened, and its data. */
export function webhookBody<T extends WebhookEventType>(type: T): z.AnyZodObject {
  return z.object({
    type: z.literal(type),
    timestamp: z.string().datetime().describe('When the event was recorded'),
    data: webhookData[type],
  });
}
