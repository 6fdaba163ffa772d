import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';

/** Checks `Authorization: Bearer <ADMIN_TOKEN>`; throws 401 otherwise. */
export function requireAdmin(request: FastifyRequest, adminToken: string): void {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const given = Buffer.from(match?.[1] ?? '');
  const expected = Buffer.from(adminToken);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AppError('unauthorized', match ? 'wrong admin token' : 'missing Authorization: Bearer <ADMIN_TOKEN> header');
  }
}
