import type { FastifyInstance } from 'fastify';
import { routeSchema } from './apiSchemas.ts';

type ProbeResult = boolean | (Record<string, unknown> & { ok: boolean });

export interface HealthProbe {
  name: string;
  check: () => Promise<ProbeResult> | ProbeResult;
}

/** GET /healthz: 200 only when every probe reports up; the body says which is not. */
export function registerHealthRoutes(app: FastifyInstance, probes: HealthProbe[]): void {
  const schema = routeSchema({
    summary: 'Health: 200 only when every part is up; the body says which is not',
    tag: 'operations',
    security: 'none',
    responses: { 200: { description: 'Every part is up' }, 503: { description: 'Draining, or a part is down' } },
  });
  app.get('/healthz', { schema }, async (_request, reply) => {
    const results: Record<string, unknown> = {};
    let ok = true;
    await Promise.all(
      probes.map(async (probe) => {
        let result: ProbeResult;
        try {
          result = await probe.check();
        } catch {
          result = false;
        }
        const up = typeof result === 'boolean' ? result : result.ok;
        ok &&= up;
        results[probe.name] = typeof result === 'boolean' ? { ok: up } : result;
      }),
    );
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', ...results });
  });
}
