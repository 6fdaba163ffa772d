import rateLimit from '@fastify/rate-limit';
import { listTimelineEvents } from '../timeline/timelineStore.ts';
import { timelineEvent } from '../webhooks/webhookPayloads.ts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, invalidInput } from '../errors.ts';
import type { OriginPolicy } from '../auth/OriginPolicy.ts';
import type { RoleTokens } from '../auth/RoleTokens.ts';
import { hasEnded } from '../db/InterviewStatus.ts';
import type { Interview } from '../db/Interview.ts';
import { deliveryStateOf } from '../db/WebhookEvent.ts';
import type { SessionRegistry } from '../session/SessionRegistry.ts';
import { SessionState } from '../session/SessionState.ts';
import type { RecordingDeletion } from '../lifecycle/RecordingDeletion.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import { toView, type InterviewService } from '../lifecycle/InterviewService.ts';
import type { RecordingArtifacts } from '../delivery/RecordingArtifacts.ts';
import { filmstripState } from '../delivery/artifacts/filmstripState.ts';
import type { PlaybackUrls } from '../storage/PlaybackUrls.ts';
import { forwardToOwner, type OwnerForwarding } from './forwardToOwner.ts';
import { isAdmin, requireAdmin } from './requestAuth.ts';
import {
  apiError,
  candidateLink,
  createInterviewBody,
  createdInterview,
  endInterviewBody,
  fileProgress,
  interviewIdParams,
  interviewView,
  listInterviewsQuery,
  playback,
  filmstrip,
  filmstripComing,
  proctorLink,
  routeSchema,
  webhookEventState,
} from './apiSchemas.ts';

function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidInput(result.error.issues);
  return result.data;
}

export interface AdminRoutesOptions {
  interviews: InterviewService;
  sessions: SessionRegistry;
  roleTokens: RoleTokens;
  playbackUrls: PlaybackUrls;
  /** The filmstrip and other files stored beside the recordings. */
  artifacts: RecordingArtifacts;
  deletion: RecordingDeletion;
  webhooks: WebhookOutbox;
  adminToken: string;
  publicUrl: string;
  /** PUBLIC_URL's origin and EMBED_ORIGINS: the origins a returnUrl may have. */
  origins: OriginPolicy;
  roleTokenTtlSeconds: number;
  /**
   * Whether a new interview may be created now; throws the AppError to answer otherwise (503 while
   * the service drains for a restart or no node has room, 507 when the disk is nearly full). In a
   * cluster it names the node placed to run it: its links then lead there.
   */
  admitNewInterview?: () => Promise<{ publicUrl: string } | void> | void;
  /** ADMIN_RATE_LIMIT_PER_MINUTE and ADMIN_FAILED_AUTH_PER_MINUTE, per client address. */
  rateLimit?: { perMinute: number; failedAuthPerMinute: number };
  /** Cluster mode: an action on an interview (end, retry) is sent to the node that owns it, whose session acts. */
  forwardToOwner?: OwnerForwarding | undefined;
}

/**
 * The admin API (the contract documented in the README), in its own encapsulated scope under
 * `/api`: the scope's hook requires the admin token for every route registered in it, present and
 * future, and for unknown `/api` paths too. Authorization follows the route the router matched,
 * never the raw URL text (which may be percent-encoded or in absolute form).
 */
export function registerAdminRoutes(app: FastifyInstance, options: AdminRoutesOptions): void {
  void app.register(
    async (api) => {
      // Per client address, a minute at a time: requests with the right token up to
      // adminRequestsPerMinute, with a wrong one only up to adminFailedAuthPerMinute (a token
      // guessed at is stopped after a few tries). The limit runs before the token check (a route's
      // onRequest hook), the token check before the body is read (preParsing).
      const { perMinute, failedAuthPerMinute } = options.rateLimit ?? { perMinute: 600, failedAuthPerMinute: 10 };
      await api.register(rateLimit, {
        timeWindow: 60_000,
        keyGenerator: (request) => request.ip,
        max: (request) => (isAdmin(request, options.adminToken) ? perMinute : failedAuthPerMinute),
        errorResponseBuilder: (_request, context) => new AppError('limit_reached', `too many admin API requests from this address; try again in ${context.after}`),
      });
      api.addHook('preParsing', async (request) => requireAdmin(request, options.adminToken));
      api.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
      registerInterviewRoutes(api, options);
      api.get('/openapi.json', { schema: routeSchema({ summary: 'This API described as OpenAPI 3', tag: 'admin', responses: { 200: { description: 'The OpenAPI document' } } }) }, async () => api.swagger());
    },
    { prefix: '/api' },
  );
}

function registerInterviewRoutes(api: FastifyInstance, options: AdminRoutesOptions): void {
  const { interviews, roleTokens, publicUrl } = options;
  // Links stay valid for the interview's whole life plus a margin for late joins and reviews.
  const linkTtl = (durationSeconds: number) => options.roleTokenTtlSeconds + durationSeconds;
  /**
   * A fresh link of `role` to the interview, on `linkBase`, and when it expires. The token rides in
   * the fragment, so it never reaches a server log or a Referer header.
   */
  const linkTo = (interview: Interview, role: 'candidate' | 'proctor', linkBase = publicUrl) => {
    const ttl = linkTtl(interview.durationSeconds);
    const page = role === 'candidate' ? 'interview' : 'proctor';
    return { url: `${linkBase}/${page}/${interview.id}#token=${roleTokens.issue(interview.id, role, ttl)}`, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
  };

  const notFound = { description: 'No interview with this id', schema: apiError };
  const ownerUnreachable = { description: 'Cluster mode: the node that owns the interview cannot be reached from this one, or Redis cannot say which node it is; nothing was changed, try again', schema: apiError };
  const invalid = { description: 'Invalid input; `field` names it', schema: apiError };
  const unauthorized = { description: 'Missing or wrong admin token', schema: apiError };

  const create = routeSchema({
    summary: 'Create an interview and its candidate and proctor links (idempotent with an externalId)',
    tag: 'admin',
    body: createInterviewBody,
    responses: {
      201: { description: 'Created', schema: createdInterview },
      200: { description: 'An interview with this externalId was created before with the same values: that interview, with fresh links', schema: createdInterview },
      400: invalid,
      401: unauthorized,
      409: { description: 'An interview with this externalId exists with other values (`field`: externalId)', schema: apiError },
      503: { description: 'The service is draining for a restart, or at capacity (in a cluster: no node has room)', schema: apiError },
      507: { description: 'The recording disk is nearly full', schema: apiError },
    },
  });
  api.post('/interviews', { schema: create }, async (request, reply) => {
    const body = parse(createInterviewBody, request.body ?? {});
    if (body.returnUrl !== undefined && !options.origins.isConfigured(new URL(body.returnUrl).origin)) {
      throw new AppError('invalid_input', "returnUrl: must be on this service's origin (PUBLIC_URL) or one of EMBED_ORIGINS", 'returnUrl');
    }
    // A repeated create (a retry after a lost answer) creates nothing, so it needs no admission.
    const repeated = await interviews.repeatedCreate(body);
    if (repeated) return reply.code(200).send(createdAnswer(repeated, publicUrl));
    const placed = await options.admitNewInterview?.();
    // Two creates racing with one externalId: the database lets one in, the other gets its interview.
    const { interview, created } = await interviews.create(body);
    return reply.code(created ? 201 : 200).send(createdAnswer(interview, placed && created ? placed.publicUrl : publicUrl));
  });

  /** The create's answer: the interview and fresh links to it, built on `linkBase` (the node placed to run it). */
  function createdAnswer(interview: Interview, linkBase: string) {
    return {
      id: interview.id,
      externalId: interview.externalId,
      status: interview.status,
      returnUrl: interview.returnUrl,
      metadata: interview.metadata,
      candidateUrl: linkTo(interview, 'candidate', linkBase).url,
      proctorUrl: linkTo(interview, 'proctor', linkBase).url,
    };
  }

  /** Newest first; `status` and `externalId` filter, `limit`/`offset` page. The total is in `x-total-count`. */
  const list = routeSchema({
    summary: 'List interviews, newest first (x-total-count: how many in all)',
    tag: 'admin',
    query: listInterviewsQuery,
    responses: { 200: { description: 'One page of interviews', schema: interviewView.array() }, 400: invalid, 401: unauthorized },
  });
  api.get('/interviews', { schema: list }, async (request, reply) => {
    const query = parse(listInterviewsQuery, request.query ?? {});
    const { items, total } = await interviews.page(query);
    reply.header('x-total-count', String(total));
    return items.map(toView);
  });

  const get = routeSchema({
    summary: 'One interview, with signed URLs to play its recordings',
    tag: 'admin',
    params: interviewIdParams,
    responses: { 200: { description: 'The interview, its upload progress per file and signed URLs to play', schema: interviewView.extend({ playback, files: fileProgress.array(), filmstrip, filmstripComing }) }, 400: invalid, 401: unauthorized, 404: notFound },
  });
  api.get('/interviews/:id', { schema: get }, async (request) => {
    const { id } = parse(interviewIdParams, request.params);
    const interview = await interviews.get(id);
    const files = await options.sessions.progressOf(id);
    const now = Date.now();
    return { ...toView(interview), playback: await options.playbackUrls.forInterview(interview, now), files, ...(await filmstripState(options.artifacts, options.playbackUrls, interview, now)) };
  });

  const events = routeSchema({
    summary: "The interview's timeline: its events in the order stored (candidate reports and what the server observed), with their media times",
    tag: 'admin',
    params: interviewIdParams,
    responses: { 200: { description: 'The events, by seq', schema: timelineEvent.array() }, 400: invalid, 401: unauthorized, 404: notFound },
  });
  api.get('/interviews/:id/events', { schema: events }, async (request) => {
    const { id } = parse(interviewIdParams, request.params);
    await interviews.get(id);
    return listTimelineEvents(interviews.database, id);
  });

  const end = routeSchema({
    summary: 'End an interview now (recording stops; files are finalized and uploaded), optionally with a review',
    tag: 'admin',
    params: interviewIdParams,
    body: endInterviewBody,
    responses: {
      200: { description: 'The interview', schema: interviewView },
      400: invalid,
      401: unauthorized,
      404: notFound,
      503: ownerUnreachable,
    },
  });
  api.post('/interviews/:id/end', { schema: end }, async (request, reply) => {
    // The end is now: the checks below read the database, which on a busy machine answered tens
    // of seconds later (41 s at 40 interviews ending at once), and the files must not grow meanwhile.
    const askedAt = new Date();
    const { id } = parse(interviewIdParams, request.params);
    const review = parse(endInterviewBody, request.body ?? undefined);
    // Recording here: this node owns it, so nothing needs checking before the cut. (A session that
    // is only live here — in a cluster every node resumes every live interview at its start — may
    // belong to another node's recording: the owner is asked below.)
    const recordingHere = options.sessions.get(id);
    if (recordingHere?.state === SessionState.Live && recordingHere.recording) return toView(await recordingHere.end('admin', review ?? {}, askedAt));
    await interviews.get(id);
    // The owner's session holds the recording: it stops it and delivers (this node's would not).
    if (await forwardToOwner(request, reply, id, options.forwardToOwner)) return reply;
    return toView(await options.sessions.open(id).end('admin', review ?? {}, askedAt));
  });

  /** Deletes both recordings from the object store and the disk; the interview stays, with recordingsDeletedAt. */
  const remove = routeSchema({
    summary: 'Delete both recordings from the object store and the disk (idempotent)',
    tag: 'admin',
    params: interviewIdParams,
    responses: {
      200: { description: 'The interview, with recordingsDeletedAt and empty URLs', schema: interviewView },
      401: unauthorized,
      404: notFound,
      409: { description: 'Still live or being saved', schema: apiError },
    },
  });
  api.delete('/interviews/:id/recordings', { schema: remove }, async (request) => {
    const { id } = parse(interviewIdParams, request.params);
    return toView(await options.deletion.deleteRecordings(id, 'request'));
  });

  /** The interview's webhook events and where each is on its way to WEBHOOK_URL. */
  const webhooks = routeSchema({
    summary: "The interview's webhook events and their delivery state",
    tag: 'admin',
    params: interviewIdParams,
    responses: { 200: { description: 'Oldest first', schema: webhookEventState.array() }, 401: unauthorized, 404: notFound },
  });
  api.get('/interviews/:id/webhooks', { schema: webhooks }, async (request) => {
    const { id } = parse(interviewIdParams, request.params);
    await interviews.get(id);
    return (await options.webhooks.eventsOf(id)).map((event) => ({
      id: event.id,
      type: event.type,
      state: deliveryStateOf(event),
      attempts: event.attempts,
      createdAt: event.createdAt.toISOString(),
      nextAttemptAt: deliveryStateOf(event) === 'pending' ? event.nextAttemptAt.toISOString() : null,
      deliveredAt: event.deliveredAt?.toISOString() ?? null,
      lastError: event.lastError,
    }));
  });

  /** A fresh proctor link, so the admin page can open any interview without keeping the links handed out at creation. */
  const link = routeSchema({
    summary: 'A fresh proctor link (the admin page opens interviews with it)',
    tag: 'admin',
    params: interviewIdParams,
    responses: { 200: { description: 'The link', schema: proctorLink }, 401: unauthorized, 404: notFound },
  });
  api.post('/interviews/:id/proctor-link', { schema: link }, async (request) => {
    const { id } = parse(interviewIdParams, request.params);
    const interview = await interviews.get(id);
    const { url, expiresAt } = linkTo(interview, 'proctor');
    return { proctorUrl: url, expiresAt };
  });

  /**
   * A fresh candidate link, for a host app that did not keep the one handed out at creation. An
   * interview that has ended gets none (409): the link could only lead to the end page.
   */
  const candidateLinkRoute = routeSchema({
    summary: 'A fresh candidate link (409 once the interview has ended)',
    tag: 'admin',
    params: interviewIdParams,
    responses: {
      200: { description: 'The link', schema: candidateLink },
      401: unauthorized,
      404: notFound,
      409: { description: 'The interview has ended (finalizing, completed or failed)', schema: apiError },
    },
  });
  api.post('/interviews/:id/candidate-link', { schema: candidateLinkRoute }, async (request) => {
    const { id } = parse(interviewIdParams, request.params);
    const interview = await interviews.get(id);
    if (hasEnded(interview.status)) throw new AppError('conflict', `the interview has ended (${interview.status}): a candidate link would only lead to its end page`);
    const { url, expiresAt } = linkTo(interview, 'candidate');
    return { candidateUrl: url, expiresAt };
  });

  const retry = routeSchema({
    summary: 'Finalize and upload a failed interview again',
    tag: 'admin',
    params: interviewIdParams,
    responses: {
      202: { description: 'Finalizing again', schema: createdInterview.pick({ id: true, externalId: true, status: true }) },
      401: unauthorized,
      404: notFound,
      409: { description: 'The interview has not failed', schema: apiError },
      503: ownerUnreachable,
    },
  });
  api.post('/interviews/:id/retry-upload', { schema: retry }, async (request, reply) => {
    const { id } = parse(interviewIdParams, request.params);
    await interviews.get(id);
    if (await forwardToOwner(request, reply, id, options.forwardToOwner)) return reply;
    const interview = await options.sessions.open(id).retry();
    return reply.code(202).send({ id, externalId: interview.externalId, status: interview.status });
  });
}
