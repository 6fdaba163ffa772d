import { createHmac, timingSafeEqual } from 'node:crypto';

export type Role = 'candidate' | 'proctor';

export interface RoleClaims {
  interviewId: string;
  role: Role;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export class TokenError extends Error {
  constructor(readonly reason: 'malformed' | 'bad_signature' | 'expired') {
    super(`role token ${reason.replace('_', ' ')}`);
    this.name = 'TokenError';
  }
}

/**
 * Signed role tokens, `base64url(claims).base64url(hmac-sha256)`: each is bound to one interview
 * and one role and expires. Stateless, so links survive restarts as long as the key does.
 */
export class RoleTokens {
  readonly #key: Buffer;

  constructor(key: string) {
    this.#key = Buffer.from(key);
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }

  issue(interviewId: string, role: Role, ttlSeconds: number, now = Date.now()): string {
    const claims: RoleClaims = { interviewId, role, exp: Math.floor(now / 1000) + ttlSeconds };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${this.#sign(payload)}`;
  }

  verify(token: unknown, now = Date.now()): RoleClaims {
    if (typeof token !== 'string' || token.length > 1024) throw new TokenError('malformed');
    const [payload, signature, ...rest] = token.split('.');
    if (!payload || !signature || rest.length > 0) throw new TokenError('malformed');
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new TokenError('bad_signature');
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw new TokenError('malformed');
    }
    // Signed is not well-formed: a token minted by an older version (or a bug) may hold anything.
    const claims = parsed as Partial<RoleClaims> | null;
    if (
      typeof claims !== 'object' ||
      claims === null ||
      typeof claims.interviewId !== 'string' ||
      (claims.role !== 'candidate' && claims.role !== 'proctor') ||
      typeof claims.exp !== 'number' ||
      !Number.isFinite(claims.exp)
    ) {
      throw new TokenError('malformed');
    }
    if (claims.exp * 1000 <= now) throw new TokenError('expired');
    return { interviewId: claims.interviewId, role: claims.role, exp: claims.exp };
  }
}
