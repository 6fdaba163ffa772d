import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { TokenError, type RoleClaims, type RoleTokens } from '../auth/RoleTokens.ts';
import { AppError } from '../errors.ts';

function bearerOf(request: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
}

/** Whether the request carries `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time). */
export function isAdmin(request: FastifyRequest, adminToken: string): boolean {
  const given = Buffer.from(bearerOf(request) ?? '');
  const expected = Buffer.from(adminToken);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Checks `Authorization: Bearer <ADMIN_TOKEN>`; throws 401 otherwise. */
export function requireAdmin(request: FastifyRequest, adminToken: string): void {
  if (isAdmin(request, adminToken)) return;
  throw new AppError('unauthorized', bearerOf(request) ? 'wrong admin token' : 'missing Authorization: Bearer <ADMIN_TOKEN> header');
}

/** A candidate or proctor token for exactly this interview, from `Authorization: Bearer`. */
export function requireRoleFor(request: FastifyRequest, roleTokens: RoleTokens, interviewId: string): RoleClaims {
  const token = bearerOf(request);
  if (!token) throw new AppError('unauthorized', 'missing Authorization: Bearer <role token> header');
  let claims: RoleClaims;
  try {
    claims = roleTokens.verify(token);
  } catch (error) {
    if (error instanceof TokenError) throw new AppError('unauthorized', error.message);
    throw error;
  }
  if (claims.interviewId !== interviewId) throw new AppError('forbidden', 'this token belongs to another interview');
  return claims;
}
