// The HTTP API's shapes, once: the zod schemas the routes parse requests with, and the JSON
// Schemas (derived from them) that describe each route in the OpenAPI document.
import type {} from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { InterviewStatus } from '../db/InterviewStatus.ts';
import { WEBHOOK_EVENT_TYPES } from '../db/WebhookEvent.ts';
import { recordingGap, webhookBody, webhookData } from '../webhooks/webhookPayloads.ts';
import type { InterviewView } from '../lifecycle/InterviewService.ts';
import { SCREEN_VERDICTS } from '../../shared/protocol.ts';
import { multiLineText, singleLineText } from './textFields.ts';

/** The host app's own id of an interview. */
const externalIdField = z
  .string({ message: 'must be a string' })
  .regex(/^[A-Za-z0-9._:@/-]{1,200}$/, 'must be 1–200 characters of letters, digits, ".", "_", ":", "@", "/" or "-"')
  .describe("The host app's own id for the interview (unique): a repeated create with it returns the same interview");

/** Where the candidate goes after the end; which origins it may have is checked by the route (it needs the configuration). */
const returnUrlField = z
  .string({ message: 'must be a string' })
  .max(2000)
  .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), 'must be an absolute http(s) URL')
  .describe("Where the candidate goes after the end: an absolute http(s) URL on this service's origin (PUBLIC_URL) or one of EMBED_ORIGINS");

const METADATA_MAX_BYTES = 4096;
const METADATA_MAX_DEPTH = 4;

/** How deep objects and arrays nest in a JSON value (a scalar is 0, `{}` 1), and whether a key or string holds U+0000. */
function shapeOf(value: unknown): { depth: number; nul: boolean } {
  if (typeof value === 'string') return { depth: 0, nul: value.includes('\u0000') };
  if (value === null || typeof value !== 'object') return { depth: 0, nul: false };
  let depth = 0;
  let nul = false;
  for (const [key, inner] of Object.entries(value)) {
    const shape = shapeOf(inner);
    depth = Math.max(depth, shape.depth);
    nul ||= shape.nul || key.includes('\u0000');
  }
  return { depth: depth + 1, nul };
}

/** The host app's small JSON object, stored and echoed. */
const metadataField = z
  .record(z.unknown(), { message: 'must be a JSON object (not an array, a string, a number or null)' })
  .superRefine((value, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(value));
    if (bytes > METADATA_MAX_BYTES) ctx.addIssue({ code: 'custom', message: `must be at most ${METADATA_MAX_BYTES} bytes as JSON (got ${bytes})` });
    const { depth, nul } = shapeOf(value);
    if (depth > METADATA_MAX_DEPTH) ctx.addIssue({ code: 'custom', message: `must nest objects and arrays at most ${METADATA_MAX_DEPTH} levels deep, itself included (got ${depth})` });
    // PostgreSQL's jsonb cannot hold it.
    if (nul) ctx.addIssue({ code: 'custom', message: 'must not contain the character U+0000' });
  })
  .describe(`The host app's JSON object (at most ${METADATA_MAX_BYTES} bytes as JSON, nested at most ${METADATA_MAX_DEPTH} levels): stored, and echoed in API answers and webhooks`);

export const createInterviewBody = z
  .object({
    durationSeconds: z.number({ message: 'must be an integer between 10 and 14400' }).int('must be an integer').min(10).max(14400),
    candidateName: singleLineText(200)
      .transform((name) => name.trim())
      .optional(),
    externalId: externalIdField.optional(),
    returnUrl: returnUrlField.optional(),
    metadata: metadataField.optional(),
  })
  .describe('A new interview');

export const endInterviewBody = z
  .object({
    score: z.number().int('must be an integer').min(0).max(1_000_000).optional(),
    notes: multiLineText(20_000).optional(),
  })
  .optional()
  .describe('An optional review, stored with the interview');

export const interviewIdParams = z.object({ id: z.string().uuid('must be an interview id') });

export const listInterviewsQuery = z
  .object({
    status: z.nativeEnum(InterviewStatus).optional(),
    externalId: externalIdField.optional(),
    limit: z.coerce.number().int('must be an integer').min(1).max(500).optional(),
    offset: z.coerce.number().int('must be an integer').min(0).optional(),
  })
  .strict();


export const interviewView = z.object({
  id: z.string().uuid(),
  externalId: z.string().nullable().describe("The host app's own id, given at creation"),
  status: z.nativeEnum(InterviewStatus),
  durationSeconds: z.number().int(),
  candidateName: z.string().nullable(),
  createdAt: z.string().datetime(),
  startedAt: z.string().datetime().nullable(),
  endsAt: z.string().datetime().nullable(),
  completedAt: z.string().datetime().nullable(),
  screenVideo: z.string().describe('Stable stored URL of screen.webm (screen + audio); empty until uploaded'),
  candidateVideo: z.string().describe('Stable stored URL of candidate.webm (camera + audio); empty until uploaded'),
  timelineVtt: z.string().describe("Stable stored URL of timeline.vtt (the interview's events as WebVTT cues at their media times); empty until uploaded"),
  score: z.number().int(),
  notes: z.string(),
  failureReason: z.string().nullable(),
  gaps: z.array(recordingGap),
  recordingsDeletedAt: z.string().datetime().nullable(),
  screenSource: z
    .object({ verdict: z.enum(SCREEN_VERDICTS), evidence: z.string() })
    .nullable()
    .describe("What the candidate's browser could tell about the shared screen; null before a share"),
  returnUrl: z.string().nullable().describe('Where the candidate goes after the end, given at creation'),
  metadata: z.record(z.unknown()).nullable().describe("The host app's JSON object, given at creation"),
  nextRetryAt: z
    .string()
    .datetime()
    .nullable()
    .describe('A failed interview: when the service tries to save its recordings again by itself (FAILED_UPLOAD_RETRY_SECONDS); null when it will not (past FAILED_UPLOAD_RETRY_DAYS, or not failed)'),
}) satisfies z.ZodType<InterviewView>;

export const playback = z.object({
  screenVideo: z.string(),
  candidateVideo: z.string(),
  timelineVtt: z.string().nullable().describe('Signed URL of timeline.vtt (the events as WebVTT); null until stored'),
  expiresAt: z.string().datetime().nullable(),
});

export const filmstrip = z
  .object({
    url: z.string().describe('filmstrip.jpg, signed like the videos (expires with them)'),
    intervalSeconds: z.number().int().positive().describe('Tile i shows the screen at i × intervalSeconds'),
    count: z.number().int().positive().describe('How many tiles the sheet holds'),
    columns: z.number().int().positive().describe('Tiles per row, left to right, rows top to bottom'),
    tileWidth: z.number().int().positive().describe('Pixels'),
    tileHeight: z.number().int().positive().describe('Pixels; a frame of another shape is letterboxed in it'),
  })
  .nullable()
  .describe('Thumbnails of the screen recording as one JPEG sprite sheet; null until it is stored (it is made after the URLs), or when it could not be made, FILMSTRIP is false or the recordings were deleted');

export const filmstripComing = z
  .boolean()
  .describe('Whether a filmstrip is still to come (queued or being made, or the interview has not ended): ask again while true; false once stored, or when none will be (a recording shorter than FILMSTRIP_MIN_SECONDS, FILMSTRIP false, failed, deleted)');

export const fileProgress = z.object({
  kind: z.enum(['screen', 'candidate']),
  status: z.enum(['recording', 'finalized', 'uploading', 'uploaded', 'failed']),
  sizeBytes: z.number().int(),
  uploadedBytes: z.number().int(),
});

/** GET /session/:id/recording, what the end and review pages read. */
export const sessionRecording = z.object({
  id: z.string().uuid(),
  status: z.nativeEnum(InterviewStatus),
  completedAt: z.string().datetime().nullable(),
  startedAt: interviewView.shape.startedAt.describe('When the interview went live: the recordings start here (the review page places the gaps from it)'),
  gaps: interviewView.shape.gaps,
  failureReason: z.string().nullable(),
  nextRetryAt: interviewView.shape.nextRetryAt,
  files: fileProgress.array(),
  screenVideo: z.string().describe('Signed URL of screen.webm; empty until uploaded'),
  candidateVideo: z.string().describe('Signed URL of candidate.webm; empty until uploaded'),
  urlsExpireAt: z.string().datetime().nullable(),
  returnUrl: z.string().nullable().describe("For the candidate's token: where the candidate goes after the end; null for a proctor's"),
  timelineVtt: z.string().nullable().describe('Signed URL of timeline.vtt (the events as WebVTT); null until stored'),
  filmstrip,
  filmstripComing,
});

export const createdInterview = z.object({
  id: z.string().uuid(),
  externalId: interviewView.shape.externalId,
  status: z.nativeEnum(InterviewStatus).describe('`created` for a new interview; a repeated create (same externalId) gives the interview as it is now'),
  returnUrl: interviewView.shape.returnUrl,
  metadata: interviewView.shape.metadata,
  candidateUrl: z.string().url().describe('The candidate link; its role token rides in the fragment'),
  proctorUrl: z.string().url(),
});

export const proctorLink = z.object({ proctorUrl: z.string().url(), expiresAt: z.string().datetime() });

export const candidateLink = z.object({ candidateUrl: z.string().url(), expiresAt: z.string().datetime() });

export const webhookEventState = z.object({
  id: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  state: z.enum(['pending', 'delivered', 'gave_up']),
  attempts: z.number().int(),
  createdAt: z.string().datetime(),
  nextAttemptAt: z.string().datetime().nullable(),
  deliveredAt: z.string().datetime().nullable(),
  lastError: z.string().nullable(),
});

export const apiError = z.object({ error: z.string(), message: z.string(), field: z.string().optional() });

// OpenAPI 3.1's schemas are JSON Schema (nullable is `type: [..., "null"]`, not `nullable: true`).
const jsonSchema = (schema: z.ZodTypeAny) => {
  const { $schema: _ignored, ...rest } = zodToJsonSchema(schema, { target: 'jsonSchema7', $refStrategy: 'none' }) as Record<string, unknown>;
  return rest;
};

/**
 * The OpenAPI document's `webhooks`: each event POSTed to WEBHOOK_URL, its body from the very
 * schemas the outbox builds it with (server/webhooks/webhookPayloads.ts).
 */
export function webhooksDescription(): Record<string, unknown> {
  const header = (name: string, description: string) => ({ name, in: 'header', required: true, description, schema: { type: 'string' } });
  return Object.fromEntries(
    WEBHOOK_EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          summary: webhookData[type].description,
          description: 'Standard Webhooks: verify `webhook-signature` over "id.timestamp.body" with WEBHOOK_SECRET; every attempt of one event has the same `webhook-id`.',
          parameters: [
            header('webhook-id', 'The event id, the same on every attempt (drop duplicates by it)'),
            header('webhook-timestamp', 'When this attempt was sent, seconds since the epoch'),
            header('webhook-signature', 'v1,<base64 HMAC-SHA256 of "id.timestamp.body"> keyed with WEBHOOK_SECRET'),
          ],
          requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(webhookBody(type)) } } },
          responses: { '2XX': { description: 'Delivered: not sent again' }, default: { description: 'Not delivered: retried with backoff for about 35 hours' } },
          security: [],
        },
      },
    ]),
  );
}

export interface RouteDescription {
  summary: string;
  tag: 'admin' | 'pages' | 'operations';
  params?: z.ZodTypeAny;
  query?: z.ZodTypeAny;
  body?: z.ZodTypeAny;
  /** Status → description, with the answer's schema for a body. */
  responses: Record<number, { description: string; schema?: z.ZodTypeAny }>;
  /** Who may call it, when not the admin token. */
  security?: 'none' | 'role token' | 'metrics token';
}

/** The Fastify `schema` of a route: only for the OpenAPI document (requests are parsed with zod). */
export function routeSchema(route: RouteDescription): FastifySchema {
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    responses[status] = response.schema ? { description: response.description, ...jsonSchema(response.schema) } : { description: response.description, type: 'null' };
  }
  return {
    summary: route.summary,
    tags: [route.tag],
    ...(route.params ? { params: jsonSchema(route.params) } : {}),
    ...(route.query ? { querystring: jsonSchema(route.query) } : {}),
    ...(route.body ? { body: jsonSchema(route.body) } : {}),
    response: responses,
    ...(route.security === 'none' ? { security: [] } : route.security === 'role token' ? { security: [{ roleToken: [] }] } : route.security === 'metrics token' ? { security: [{ metricsToken: [] }, { adminToken: [] }] } : {}),
  };
}
