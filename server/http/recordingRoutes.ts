import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { OriginPolicy } from '../auth/OriginPolicy.ts';
import type { RoleTokens } from '../auth/RoleTokens.ts';
import { AppError, invalidInput } from '../errors.ts';
import { listTimelineEvents } from '../timeline/timelineStore.ts';
import { timelineEvent } from '../webhooks/webhookPayloads.ts';
import type { SessionRegistry } from '../session/SessionRegistry.ts';
import { toView, type InterviewService } from '../lifecycle/InterviewService.ts';
import type { PlaybackUrls } from '../storage/PlaybackUrls.ts';
import type { RecordingArtifacts } from '../delivery/RecordingArtifacts.ts';
import { filmstripState } from '../delivery/artifacts/filmstripState.ts';
import { apiError, interviewIdParams, routeSchema, sessionRecording } from './apiSchemas.ts';
import { requireRoleFor } from './requestAuth.ts';

export interface RecordingRoutesOptions {
  interviews: InterviewService;
  sessions: SessionRegistry;
  roleTokens: RoleTokens;
  playbackUrls: PlaybackUrls;
  /** The filmstrip and other files stored beside the recordings. */
  artifacts: RecordingArtifacts;
  /** Which pages' origins get CORS answers (a host app's page using the SDK); undefined: none. */
  origins?: OriginPolicy | undefined;
}

/** How long a browser may keep a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

const idParams = z.object({ id: z.string().uuid('must be an interview id') });

function interviewIdOf(request: FastifyRequest): string {
  const params = idParams.safeParse(request.params);
  if (!params.success) throw invalidInput(params.error.issues);
  return params.data.id;
}

/**
 * GET /session/:id/recording (role token): the recording's progress for the end and review
 * pages and, once uploaded, URLs to play it. URLs only ever come from the database, never from a
 * client; what the page gets are signed (expiring) forms of them.
 */
export function registerRecordingRoutes(app: FastifyInstance, options: RecordingRoutesOptions): void {
  const { interviews, sessions, roleTokens } = options;
  if (options.origins) registerSessionCors(app, options.origins);

  const schema = routeSchema({
    summary: "The recording's progress and, once saved, signed URLs to play it (end and review pages)",
    tag: 'pages',
    security: 'role token',
    params: interviewIdParams,
    responses: {
      200: { description: "Status, per-file progress, a failed interview's nextRetryAt, signed URLs (urlsExpireAt), the filmstrip, and for the candidate's token the interview's returnUrl (null for a proctor's)", schema: sessionRecording },
      401: { description: 'Missing or invalid role token', schema: apiError },
      403: { description: "Another interview's token", schema: apiError },
      404: { description: 'No such interview', schema: apiError },
    },
  });
  app.get('/session/:id/recording', { schema }, async (request) => {
    const id = interviewIdOf(request);
    const claims = requireRoleFor(request, roleTokens, id);
    const interview = await interviews.get(id);
    const files = await sessions.progressOf(id);
    const now = Date.now();
    const playback = await options.playbackUrls.forInterview(interview, now);
    const { filmstrip, filmstripComing } = await filmstripState(options.artifacts, options.playbackUrls, interview, now);
    return {
      id,
      status: interview.status,
      completedAt: interview.completedAt?.toISOString() ?? null,
      // The review page's timeline: the recordings start when the interview went live.
      startedAt: interview.startedAt?.toISOString() ?? null,
      gaps: interview.gaps,
      failureReason: interview.failureReason,
      // A failed interview: when the service tries again by itself (null: it will not; an operator can).
      nextRetryAt: toView(interview).nextRetryAt,
      files,
      screenVideo: playback.screenVideo,
      candidateVideo: playback.candidateVideo,
      // The timeline as WebVTT (cues at the events' media times), signed like the videos; null until stored.
      timelineVtt: playback.timelineVtt,
      urlsExpireAt: playback.expiresAt,
      // Where the candidate goes after the end (stored at creation, never from a client).
      returnUrl: claims.role === 'candidate' ? interview.returnUrl : null,
      filmstrip,
      filmstripComing,
    } satisfies z.infer<typeof sessionRecording>;
  });
  registerSessionEventRoutes(app, options);
}

/**
 * GET /session/:id/events (a proctor's role token): the interview's timeline for the review and
 * proctor pages (the candidate's token is refused: the log is about the candidate, not for them).
 */
function registerSessionEventRoutes(app: FastifyInstance, options: Pick<RecordingRoutesOptions, 'interviews' | 'roleTokens'>): void {
  const schema = routeSchema({
    summary: "The interview's timeline (review and proctor pages)",
    tag: 'pages',
    security: 'role token',
    params: interviewIdParams,
    responses: {
      200: { description: 'The events, by seq', schema: timelineEvent.array() },
      401: { description: 'Missing or invalid role token', schema: apiError },
      403: { description: "Another interview's token, or a candidate's", schema: apiError },
      404: { description: 'No such interview', schema: apiError },
    },
  });
  app.get('/session/:id/events', { schema }, async (request) => {
    const id = interviewIdOf(request);
    const claims = requireRoleFor(request, options.roleTokens, id);
    if (claims.role !== 'proctor') throw new AppError('forbidden', "only a proctor's link may read the interview's timeline");
    await options.interviews.get(id);
    return listTimelineEvents(options.interviews.database, id);
  });
}

/**
 * CORS for the `/session` routes: a page of an allowed origin (a host app using the SDK, another
 * node's page) may call them with its role token in `Authorization`; any other origin gets no CORS
 * headers, so its browser keeps the answer from it. Preflights are answered here, before routing.
 */
function registerSessionCors(app: FastifyInstance, origins: OriginPolicy): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/session/')) return;
    const { origin } = request.headers;
    if (origin === undefined) return;
    reply.header('vary', 'Origin');
    const allowed = await origins.allows(origin, request.headers.host);
    if (allowed) reply.header('access-control-allow-origin', origin);
    if (request.method !== 'OPTIONS') return;
    if (allowed) {
      reply.headers({ 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'Authorization', 'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS) });
    }
    return reply.code(204).send();
  });
}
