import { createHash } from 'node:crypto';
import type { RedisClient } from './redisClient.ts';

/**
 * A Lua script Redis runs atomically, sent by its SHA1 (EVALSHA) and as source only when Redis
 * does not know it: a restarted Redis has an empty script cache, and the next call loads it again.
 */
export class LuaScript {
  readonly #source: string;
  readonly #sha1: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha1 = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: string[]): Promise<unknown> {
    const options = { keys, arguments: args };
    try {
      return await client.evalSha(this.#sha1, options);
    } catch (error) {
      // Matched by message, not by class: `redis` is loaded only in cluster mode (see redisClient.ts).
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return client.eval(this.#source, options);
    }
  }
}
