import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RoleTokens } from '../auth/RoleTokens.ts';
import { invalidInput } from '../errors.ts';
import type { SessionRegistry } from '../session/SessionRegistry.ts';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import type { PlaybackUrls } from '../storage/PlaybackUrls.ts';
import { apiError, interviewIdParams, routeSchema } from './apiSchemas.ts';
import { requireRoleFor } from './requestAuth.ts';

export interface RecordingRoutesOptions {
  interviews: InterviewService;
  sessions: SessionRegistry;
  roleTokens: RoleTokens;
  playbackUrls: PlaybackUrls;
}

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

  const schema = routeSchema({
    summary: "The recording's progress and, once saved, signed URLs to play it (end and review pages)",
    tag: 'pages',
    security: 'role token',
    params: interviewIdParams,
    responses: {
      200: { description: 'Status, per-file progress, signed URLs (urlsExpireAt)' },
      401: { description: 'Missing or invalid role token', schema: apiError },
      403: { description: "Another interview's token", schema: apiError },
      404: { description: 'No such interview', schema: apiError },
    },
  });
  app.get('/session/:id/recording', { schema }, async (request) => {
    const id = interviewIdOf(request);
    requireRoleFor(request, roleTokens, id);
    const interview = await interviews.get(id);
    const files = await sessions.progressOf(id);
    const playback = await options.playbackUrls.forInterview(interview);
    return {
      id,
      status: interview.status,
      completedAt: interview.completedAt?.toISOString() ?? null,
      failureReason: interview.failureReason,
      files,
      screenVideo: playback.screenVideo,
      candidateVideo: playback.candidateVideo,
      urlsExpireAt: playback.expiresAt,
    };
  });
}
