import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { AppError } from '../errors.ts';
import { processRegistry } from '../metrics/counters.ts';
import { routeSchema } from './apiSchemas.ts';
import { isAdmin } from './requestAuth.ts';

export interface MetricsRoutesOptions {
  /** The service's own gauges, read at scrape time. */
  gauges: Registry;
  adminToken: string;
  /** METRICS_TOKEN: lets a scraper in without the admin token. */
  metricsToken: string | undefined;
}

/** GET /metrics: Prometheus text format, for the admin token or METRICS_TOKEN. */
export function registerMetricsRoutes(app: FastifyInstance, options: MetricsRoutesOptions): void {
  const schema = routeSchema({
    summary: 'Prometheus metrics (text format)',
    tag: 'operations',
    security: 'metrics token',
    responses: { 200: { description: 'Prometheus text exposition format 0.0.4' }, 401: { description: 'Missing or wrong token' } },
  });
  app.get('/metrics', { schema }, async (request, reply) => {
    if (!isAdmin(request, options.adminToken) && !(options.metricsToken && isAdmin(request, options.metricsToken))) {
      throw new AppError('unauthorized', 'missing or wrong Authorization: Bearer <METRICS_TOKEN or ADMIN_TOKEN>');
    }
    const merged = Registry.merge([processRegistry, options.gauges]);
    return reply.type(merged.contentType).send(await merged.metrics());
  });
}
