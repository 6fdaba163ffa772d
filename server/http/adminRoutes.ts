import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { invalidInput } from '../errors.ts';
import type { RoleTokens } from '../auth/RoleTokens.ts';
import { deliveryStateOf } from '../db/WebhookEvent.ts';
import type { InterviewFinalizer } from '../lifecycle/InterviewFinalizer.ts';
import type { RecordingDeletion } from '../lifecycle/RecordingDeletion.ts';
import { InterviewStatus } from '../lifecycle/InterviewStatus.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import { toView, type InterviewService } from '../lifecycle/InterviewService.ts';
import type { PlaybackUrls } from '../storage/PlaybackUrls.ts';
import { requireAdmin } from './requestAuth.ts';
import { multiLineText, singleLineText } from './textFields.ts';

const createBody = z.object({
  durationSeconds: z.number({ message: 'must be an integer between 10 and 14400' }).int('must be an integer').min(10).max(14400),
  candidateName: singleLineText(200)
    .transform((name) => name.trim())
    .optional(),
});

const endBody = z
  .object({
    score: z.number().int('must be an integer').min(0).max(1_000_000).optional(),
    notes: multiLineText(20_000).optional(),
  })
  .optional();

const idParams = z.object({ id: z.string().uuid('must be an interview id') });

const listQuery = z
  .object({
    status: z.nativeEnum(InterviewStatus).optional(),
    limit: z.coerce.number().int('must be an integer').min(1).max(500).optional(),
    offset: z.coerce.number().int('must be an integer').min(0).optional(),
  })
  .strict();

function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidInput(result.error.issues);
  return result.data;
}

export interface AdminRoutesOptions {
  interviews: InterviewService;
  finalizer: InterviewFinalizer;
  roleTokens: RoleTokens;
  playbackUrls: PlaybackUrls;
  deletion: RecordingDeletion;
  webhooks: WebhookOutbox;
  adminToken: string;
  publicUrl: string;
  roleTokenTtlSeconds: number;
  /**
   * Whether a new interview may be created now; throws the AppError to answer otherwise (503 while
   * the service drains for a restart, 507 when the disk is nearly full).
   */
  admitNewInterview?: () => Promise<void> | void;
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
      api.addHook('onRequest', async (request) => requireAdmin(request, options.adminToken));
      api.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
      registerInterviewRoutes(api, options);
    },
    { prefix: '/api' },
  );
}

function registerInterviewRoutes(api: FastifyInstance, options: AdminRoutesOptions): void {
  const { interviews, roleTokens, publicUrl } = options;
  // Links stay valid for the interview's whole life plus a margin for late joins and reviews.
  const linkTtl = (durationSeconds: number) => options.roleTokenTtlSeconds + durationSeconds;

  api.post('/interviews', async (request, reply) => {
    const body = parse(createBody, request.body ?? {});
    await options.admitNewInterview?.();
    const interview = await interviews.create(body);
    const ttl = linkTtl(interview.durationSeconds);
    const candidateToken = roleTokens.issue(interview.id, 'candidate', ttl);
    const proctorToken = roleTokens.issue(interview.id, 'proctor', ttl);
    return reply.code(201).send({
      id: interview.id,
      status: interview.status,
      // The token rides in the fragment, so it never reaches a server log or a Referer header.
      candidateUrl: `${publicUrl}/interview/${interview.id}#token=${candidateToken}`,
      proctorUrl: `${publicUrl}/proctor/${interview.id}#token=${proctorToken}`,
    });
  });

  /** Newest first; `status` filters, `limit`/`offset` page. The total is in `x-total-count`. */
  api.get('/interviews', async (request, reply) => {
    const query = parse(listQuery, request.query ?? {});
    const { items, total } = await interviews.page(query);
    reply.header('x-total-count', String(total));
    return items.map(toView);
  });

  api.get('/interviews/:id', async (request) => {
    const { id } = parse(idParams, request.params);
    const interview = await interviews.get(id);
    return { ...toView(interview), playback: await options.playbackUrls.forInterview(interview) };
  });

  api.post('/interviews/:id/end', async (request) => {
    const { id } = parse(idParams, request.params);
    const review = parse(endBody, request.body ?? undefined);
    return toView(await interviews.end(id, 'admin', review ?? {}));
  });

  /** Deletes both recordings from the object store and the disk; the interview stays, with recordingsDeletedAt. */
  api.delete('/interviews/:id/recordings', async (request) => {
    const { id } = parse(idParams, request.params);
    return toView(await options.deletion.deleteRecordings(id, 'request'));
  });

  /** The interview's webhook events and where each is on its way to WEBHOOK_URL. */
  api.get('/interviews/:id/webhooks', async (request) => {
    const { id } = parse(idParams, request.params);
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
  api.post('/interviews/:id/proctor-link', async (request) => {
    const { id } = parse(idParams, request.params);
    const interview = await interviews.get(id);
    const ttl = linkTtl(interview.durationSeconds);
    const token = roleTokens.issue(interview.id, 'proctor', ttl);
    return {
      proctorUrl: `${publicUrl}/proctor/${interview.id}#token=${token}`,
      expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
    };
  });

  api.post('/interviews/:id/retry-upload', async (request, reply) => {
    const { id } = parse(idParams, request.params);
    const interview = await interviews.retryFinalizing(id);
    void options.finalizer.finalize(id);
    return reply.code(202).send({ id, status: interview.status });
  });
}
