// The HTTP API's shapes, once: the zod schemas the routes parse requests with, and the JSON
// Schemas (derived from them) that describe each route in the OpenAPI document.
import { GAP_CAUSES } from '../../shared/vocabulary.ts';
import type {} from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { InterviewStatus } from '../db/InterviewStatus.ts';
import type { InterviewView } from '../lifecycle/InterviewService.ts';
import { SCREEN_VERDICTS } from '../../shared/protocol.ts';
import { multiLineText, singleLineText } from './textFields.ts';

export const createInterviewBody = z
  .object({
    durationSeconds: z.number({ message: 'must be an integer between 10 and 14400' }).int('must be an integer').min(10).max(14400),
    candidateName: singleLineText(200)
      .transform((name) => name.trim())
      .optional(),
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
    limit: z.coerce.number().int('must be an integer').min(1).max(500).optional(),
    offset: z.coerce.number().int('must be an integer').min(0).optional(),
  })
  .strict();

const gap = z.object({ start: z.string(), end: z.string().nullable(), cause: z.enum(GAP_CAUSES) });

export const interviewView = z.object({
  id: z.string().uuid(),
  status: z.nativeEnum(InterviewStatus),
  durationSeconds: z.number().int(),
  candidateName: z.string().nullable(),
  createdAt: z.string().datetime(),
  startedAt: z.string().datetime().nullable(),
  endsAt: z.string().datetime().nullable(),
  completedAt: z.string().datetime().nullable(),
  screenVideo: z.string().describe('Stable stored URL of screen.webm (screen + audio); empty until uploaded'),
  candidateVideo: z.string().describe('Stable stored URL of candidate.webm (camera + audio); empty until uploaded'),
  score: z.number().int(),
  notes: z.string(),
  failureReason: z.string().nullable(),
  gaps: z.array(gap),
  recordingsDeletedAt: z.string().datetime().nullable(),
  screenSource: z
    .object({ verdict: z.enum(SCREEN_VERDICTS), evidence: z.string() })
    .nullable()
    .describe("What the candidate's browser could tell about the shared screen; null before a share"),
}) satisfies z.ZodType<InterviewView>;

export const playback = z.object({
  screenVideo: z.string(),
  candidateVideo: z.string(),
  expiresAt: z.string().datetime().nullable(),
});

export const fileProgress = z.object({
  kind: z.enum(['screen', 'candidate']),
  status: z.enum(['recording', 'finalized', 'uploading', 'uploaded', 'failed']),
  sizeBytes: z.number().int(),
  uploadedBytes: z.number().int(),
});

export const createdInterview = z.object({
  id: z.string().uuid(),
  status: z.literal('created'),
  candidateUrl: z.string().url().describe('The candidate link; its role token rides in the fragment'),
  proctorUrl: z.string().url(),
});

export const proctorLink = z.object({ proctorUrl: z.string().url(), expiresAt: z.string().datetime() });

export const webhookEventState = z.object({
  id: z.string(),
  type: z.enum(['interview.live', 'interview.completed', 'interview.failed', 'interview.gap']),
  state: z.enum(['pending', 'delivered', 'gave_up']),
  attempts: z.number().int(),
  createdAt: z.string().datetime(),
  nextAttemptAt: z.string().datetime().nullable(),
  deliveredAt: z.string().datetime().nullable(),
  lastError: z.string().nullable(),
});

export const apiError = z.object({ error: z.string(), message: z.string(), field: z.string().optional() });

const jsonSchema = (schema: z.ZodTypeAny) => {
  const { $schema: _ignored, ...rest } = zodToJsonSchema(schema, { target: 'openApi3', $refStrategy: 'none' }) as Record<string, unknown>;
  return rest;
};

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
