import type { FastifyInstance } from 'fastify';

type ProbeResult = boolean | (Record<string, unknown> & { ok: boolean });

export interface HealthProbe {
  name: string;
  check: () => Promise<ProbeResult> | ProbeResult;
}

/** GET /healthz: 200 only when every probe reports up; the body says which is not. */
export function registerHealthRoutes(app: FastifyInstance, probes: HealthProbe[]): void {
  app.get('/healthz', async (_request, reply) => {
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
