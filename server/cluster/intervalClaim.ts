import type { RedisClient } from './redisClient.ts';

/**
 * A cluster's claim on one interval of a periodic job (the stale-upload sweep): the first node to SET the key (NX, expiring after the
 * interval) sweeps; the others find it taken until it expires. Never released, so a node that
 * ran early in an interval does not hand the same interval to another.
 */
export function intervalClaim(redis: Pick<RedisClient, 'set'>, key: string, nodeId: string, intervalMs: number): () => Promise<boolean> {
  return async () => (await redis.set(key, nodeId, { condition: 'NX', expiration: { type: 'PX', value: intervalMs } })) === 'OK';
}
