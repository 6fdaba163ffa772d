import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TokenError, type RoleTokens } from '../auth/RoleTokens.ts';
import { RecordingFile } from '../db/RecordingFile.ts';
import { AppError, invalidInput } from '../errors.ts';
import type { InterviewFinalizer } from '../lifecycle/InterviewFinalizer.ts';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import { requireAdmin } from './adminAuth.ts';

export interface RecordingRoutesOptions {
  interviews: InterviewService;
  finalizer: InterviewFinalizer;
  roleTokens: RoleTokens;
  adminToken: string;
}

const idParams = z.object({ id: z.string().uuid('must be an interview id') });

function interviewIdOf(request: FastifyRequest): string {
  const params = idParams.safeParse(request.params);
  if (!params.success) throw invalidInput(params.error.issues);
  return params.data.id;
}

/** A candidate or proctor token for exactly this interview, from `Authorization: Bearer`. */
function requireRoleFor(request: FastifyRequest, roleTokens: RoleTokens, interviewId: string): void {
  const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (!token) throw new AppError('unauthorized', 'missing Authorization: Bearer <role token> header');
  try {
    const claims = roleTokens.verify(token);
    if (claims.interviewId !== interviewId) throw new AppError('forbidden', 'this token belongs to another interview');
  } catch (error) {
    if (error instanceof TokenError) throw new AppError('unauthorized', error.message);
    throw error;
  }
}

/**
 * The recording's progress for the end and review pages (role token), and the admin's
 * retry of a failed upload. URLs only ever come from the database, never from a client.
 */
export function registerRecordingRoutes(app: FastifyInstance, options: RecordingRoutesOptions): void {
  const { interviews, finalizer, roleTokens } = options;

  app.get('/session/:id/recording', async (request) => {
    const id = interviewIdOf(request);
    requireRoleFor(request, roleTokens, id);
    const interview = await interviews.get(id);
    const live = finalizer.progress(id);
    const files =
      live ??
      (await interviews.database.em().find(RecordingFile, { interviewId: id })).map((row) => ({
        kind: row.kind,
        status: row.status,
        sizeBytes: row.sizeBytes,
        uploadedBytes: row.uploadedBytes,
      }));
    return {
      id,
      status: interview.status,
      completedAt: interview.completedAt?.toISOString() ?? null,
      failureReason: interview.failureReason,
      files,
      screenVideo: interview.screenVideo,
      candidateVideo: interview.candidateVideo,
    };
  });

  app.post('/api/interviews/:id/retry-upload', async (request, reply) => {
    requireAdmin(request, options.adminToken);
    const id = interviewIdOf(request);
    const interview = await interviews.retryFinalizing(id);
    void finalizer.finalize(id);
    return reply.code(202).send({ id, status: interview.status });
  });
}
