import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RoleTokens } from '../auth/RoleTokens.ts';
import { invalidInput } from '../errors.ts';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import { requireAdmin } from './adminAuth.ts';

export interface ProctorLinkRoutesOptions {
  interviews: InterviewService;
  roleTokens: RoleTokens;
  adminToken: string;
  publicUrl: string;
  roleTokenTtlSeconds: number;
}

const idParams = z.object({ id: z.string().uuid('must be an interview id') });

/**
 * POST /api/interviews/:id/proctor-link (admin): a fresh proctor link, so the admin page can open
 * any interview without keeping the links handed out at creation.
 */
export function registerProctorLinkRoutes(app: FastifyInstance, options: ProctorLinkRoutesOptions): void {
  app.post('/api/interviews/:id/proctor-link', async (request) => {
    // Checked here too: this route must stay admin-only even if the /api hook moves.
    requireAdmin(request, options.adminToken);
    const params = idParams.safeParse(request.params);
    if (!params.success) throw invalidInput(params.error.issues);
    const interview = await options.interviews.get(params.data.id);
    const ttl = options.roleTokenTtlSeconds + interview.durationSeconds;
    const token = options.roleTokens.issue(interview.id, 'proctor', ttl);
    return {
      proctorUrl: `${options.publicUrl}/proctor/${interview.id}#token=${token}`,
      expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
    };
  });
}
