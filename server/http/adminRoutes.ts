import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { invalidInput } from '../errors.ts';
import type { RoleTokens } from '../auth/RoleTokens.ts';
import { toView, type InterviewService } from '../lifecycle/InterviewService.ts';
import { requireAdmin } from './adminAuth.ts';

const createBody = z.object({
  durationSeconds: z.number({ message: 'must be an integer between 10 and 14400' }).int('must be an integer').min(10).max(14400),
  candidateName: z.string().trim().max(200).optional(),
});

const endBody = z
  .object({
    score: z.number().int('must be an integer').min(0).max(1_000_000).optional(),
    notes: z.string().max(20_000).optional(),
  })
  .optional();

const idParams = z.object({ id: z.string().uuid('must be an interview id') });

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidInput(result.error.issues);
  return result.data;
}

export interface AdminRoutesOptions {
  interviews: InterviewService;
  roleTokens: RoleTokens;
  adminToken: string;
  publicUrl: string;
  roleTokenTtlSeconds: number;
  /**
   * Whether a new interview may be created now; throws the AppError to answer otherwise (503 while
   * the service drains for a restart, 507 when the disk is nearly full).
   */
  admitNewInterview?: () => Promise<void> | void;
}

/** The admin API: the contract documented in the README. */
export function registerAdminRoutes(app: FastifyInstance, options: AdminRoutesOptions): void {
  const { interviews, roleTokens, publicUrl } = options;

  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/api/')) requireAdmin(request, options.adminToken);
  });

  app.post('/api/interviews', async (request, reply) => {
    const body = parse(createBody, request.body ?? {});
    await options.admitNewInterview?.();
    const interview = await interviews.create(body);
    // Links stay valid for the interview's whole life plus a margin for late joins and reviews.
    const ttl = options.roleTokenTtlSeconds + interview.durationSeconds;
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

  app.get('/api/interviews', async () => (await interviews.list()).map(toView));

  app.get('/api/interviews/:id', async (request) => {
    const { id } = parse(idParams, request.params);
    return toView(await interviews.get(id));
  });

  app.post('/api/interviews/:id/end', async (request) => {
    const { id } = parse(idParams, request.params);
    const review = parse(endBody, request.body ?? undefined);
    return toView(await interviews.end(id, 'admin', review ?? {}));
  });
}
