import type { FastifyError, FastifyInstance } from 'fastify';
import { isDatabaseUnavailable } from '../db/databaseUnavailable.ts';
import { AppError } from '../errors.ts';

/** Maps every error to one JSON shape: AppError by its code, a database that did not answer as 503, Fastify's own 4xx as invalid input. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) return reply.code(error.httpStatus).send(error.toJSON());
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'request failed: the database did not answer in time');
      return reply.code(503).send({ error: 'database_unavailable', message: 'the database did not answer in time; try again' });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: status === 400 ? 'invalid_input' : 'request_error', message: error.message, field: 'body' });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
}
