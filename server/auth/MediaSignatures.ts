import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = 'valid' | 'expired' | 'bad_signature' | 'malformed';

/**
 * Signed recording URLs, like an S3 presigned GET: `?expires=<unix seconds>&signature=<HMAC>`
 * over the object key and the expiry. Whoever holds the URL may fetch that one object until it
 * expires; the URL stored on the interview stays the stable, unsigned one.
 */
export class MediaSignatures {
  readonly #key: Buffer;

  constructor(key: string) {
    this.#key = Buffer.from(key);
  }

  #signature(key: string, expires: number): string {
    return createHmac('sha256', this.#key).update(`${key}\n${expires}`).digest('base64url');
  }

  /** The query string (without `?`) that lets its holder fetch `key` for `ttlSeconds`. */
  sign(key: string, ttlSeconds: number, now = Date.now()): { query: string; expiresAt: Date } {
    const expires = Math.floor(now / 1000) + ttlSeconds;
    return { query: `expires=${expires}&signature=${this.#signature(key, expires)}`, expiresAt: new Date(expires * 1000) };
  }

  check(key: string, expires: unknown, signature: unknown, now = Date.now()): SignatureCheck {
    if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires) || typeof signature !== 'string' || signature.length > 128) return 'malformed';
    const expected = Buffer.from(this.#signature(key, Number(expires)));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'bad_signature';
    return Number(expires) * 1000 <= now ? 'expired' : 'valid';
  }
}
