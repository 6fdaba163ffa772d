import fastifySwagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { webhooksDescription } from './apiSchemas.ts';
import type { ProxyTrust } from './clientAddress.ts';
import { registerErrorHandler } from './errorHandler.ts';

/** The `webhooks` section as @fastify/swagger types it (OpenAPI 3.1 path items). */
type WebhooksSection = NonNullable<FastifyDynamicSwaggerOptions['openapi']> extends infer Document ? (Document extends { webhooks?: infer Webhooks } ? Webhooks : never) : never;

/** One HTTP route as registered (method and full path), for tests and API descriptions. */
export interface HttpRoute {
  method: string;
  url: string;
}

/** The largest request body the service takes (1 MiB); deploy/nginx.conf's client_max_body_size matches it. */
const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The Fastify instance every route is registered on, with the OpenAPI description set up.
 * `https`: serve TLS with this certificate chain and key. `trustProxy`: which peers' X-Forwarded-* headers Fastify believes (request.ip, and the protocol
 * and host it reports), the same rule as the socket.io handshake's (clientAddress.ts).
 */
export async function createHttpServer(logger: Logger, trustProxy: ProxyTrust, https?: { cert: Buffer; key: Buffer }): Promise<{ http: FastifyInstance; routes: HttpRoute[] }> {
  // With TLS_CERT_FILE / TLS_KEY_FILE the same routes on an https server (typed as the http one:
  // nothing here depends on which; tlsCertificate.ts reloads its certificate).
  const http = Fastify({
    ...(https ? { https } : {}),
    loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy,
    // While closing, requests still reach the routes, which answer the documented 503s
    // (/healthz `service.draining`, `unavailable`), not Fastify's generic one.
    return503OnClosing: false,
  }) as unknown as FastifyInstance;
  const routes: HttpRoute[] = [];
  http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  // One line per answered request, with the client's address (behind a trusted proxy, the one it
  // forwarded: request.ip). The path only: a query can carry a media signature. Health checks and
  // scrapes come every few seconds: debug.
  const requestLogger = logger.child({ component: 'http' });
  http.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?', 1)[0]!.slice(0, 200);
    const level = path === '/healthz' || path === '/metrics' ? 'debug' : 'info';
    requestLogger[level]({ clientAddress: request.ip, method: request.method, path, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request answered');
  });
  registerErrorHandler(http);
  // Requests are parsed with zod in each route and answers are plain JSON: route schemas exist
  // only to describe the API (OpenAPI), so neither ajv nor fast-json-stringify may act on them.
  http.setValidatorCompiler(() => (value) => ({ value }));
  http.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await http.register(fastifySwagger, {
    openapi: {
      // 3.1: the version with a `webhooks` section.
      openapi: '3.1.0',
      info: { title: 'interview-ingest', version: '0.1.0', description: 'Crash-safe live ingest and recording for remote job interviews: the admin API and the routes pages and operators use.' },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
          roleToken: { type: 'http', scheme: 'bearer', description: "A candidate or proctor link's role token" },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
        },
      },
      security: [{ adminToken: [] }],
      // Built from the same kind of JSON Schemas as the paths; the cast only names their OpenAPI type.
      webhooks: webhooksDescription() as WebhooksSection,
    },
    // Pages and assets are not API: only tagged routes are described.
    hideUntagged: true,
  });
  return { http, routes };
}
