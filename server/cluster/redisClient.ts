import type { Logger } from 'pino';
import type { RedisClientType } from 'redis';

export type RedisClient = RedisClientType;

/** How long a start waits for Redis before it gives up (the service does not start without its cluster). */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Reconnect delays grow from 100 ms but never exceed 1 s: after a Redis restart the heartbeats and
 * leases must be back within about a second, and the lease TTL is only a few seconds.
 */
const MAX_RECONNECT_DELAY_MS = 1000;
/**
 * How long a coordination command (heartbeat, lease, owner look-up) waits for its reply. A Redis
 * that accepts the connection but does not answer (stopped, overloaded, a network partition that
 * drops packets) must not hold the caller up: an admin request looking up the owner, or the end of
 * an interview. Lease renewals run every second and the lease lives 3 s, so a reply later than
 * 1 s is stale anyway. `redis` 6's own command timeout (default 5 s) only counts while a command
 * waits to be written: once it is on the wire it waits for ever (measured: an admin request took
 * 54 s against a SIGSTOPped Redis). So the fail-fast client's every call is also raced against
 * this deadline (`withReplyDeadline`).
 */
const COMMAND_TIMEOUT_MS = 1000;
/**
 * socket.io's adapter blocks in XREAD for 5 s at a time on purpose (its `blockTimeInMs`): its
 * client's commands may take longer than that. `redis` 6's default 5 s would cut every idle XREAD
 * at the moment Redis answers it.
 */
const BLOCKING_COMMAND_TIMEOUT_MS = 10_000;

export interface RedisClientOptions {
  url: string;
  /** Names the client in the log (and in Redis's CLIENT LIST). */
  name: string;
  logger: Logger;
  /**
   * false: a command sent while the connection is down fails at once. Heartbeats and lease renewals
   * want that — one queued for seconds would arrive stale; the next tick sends a fresh one.
   * true: commands wait for the reconnect (socket.io's adapter, whose XREAD loop would otherwise spin).
   * Each has its command timeout: short for the fail-fast one, past the adapter's XREAD block for the other.
   */
  offlineQueue: boolean;
}

/** Where a Redis URL points, without its password (log lines and errors must not carry it). */
function redisAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
}

/**
 * A connected client of the maintained `redis` package. It reconnects by itself for ever (bounded
 * delay); a lost and regained connection is logged once each way, not on every retry.
 */
export async function openRedisClient(options: RedisClientOptions): Promise<RedisClient> {
  const address = redisAddress(options.url);
  const logger = options.logger.child({ redis: address, client: options.name });
  // Loaded here, in cluster mode only: a single node's start does not pay for the client.
  const { createClient } = await import('redis');
  const client: RedisClient = createClient({
    url: options.url,
    name: options.name,
    disableOfflineQueue: !options.offlineQueue,
    commandOptions: { timeout: options.offlineQueue ? BLOCKING_COMMAND_TIMEOUT_MS : COMMAND_TIMEOUT_MS },
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    },
  });
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    logger.warn({ err: error }, 'no connection to Redis; reconnecting');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('connected to Redis again');
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`could not reach Redis at ${address} (REDIS_URL) within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([client.connect(), timedOut]);
  } catch (error) {
    client.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return options.offlineQueue ? client : withReplyDeadline(client, COMMAND_TIMEOUT_MS, address);
}

/** A command that got no reply within its deadline (Redis hung or unreachable without a reset). */
class RedisReplyTimeoutError extends Error {
  constructor(command: string, address: string, ms: number) {
    super(`Redis at ${address} did not answer ${command} within ${ms} ms`);
    this.name = 'RedisReplyTimeoutError';
  }
}

/**
 * The client, with every call that returns a promise rejected after `ms` without a reply. The
 * command itself stays queued in the client: a late reply is matched to it and dropped, and a
 * reconnect fails whatever is left. Properties are read from the client itself (its private
 * fields do not work through a proxy receiver).
 */
function withReplyDeadline(client: RedisClient, ms: number, address: string): RedisClient {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...callArgs: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RedisReplyTimeoutError(String(property), address, ms)), ms);
        });
        return Promise.race([result, deadline]).finally(() => clearTimeout(timer));
      };
    },
  });
}

/** Closes a client: pending commands get a moment, then the connection is cut. Idempotent. */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  // close() waits for replies, which never come while Redis is down: bounded, then destroyed.
  await Promise.race([client.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  if (client.isOpen) client.destroy();
}
