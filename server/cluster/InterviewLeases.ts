import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { clusterKeys } from './clusterKeys.ts';
import { LuaScript } from './LuaScript.ts';
import type { RedisClient } from './redisClient.ts';

/** A lease lives this long after its last renewal: another node can take it ≤ 3 s after the owner stops (the issue asks ≤ 5 s). */
export const LEASE_TTL_MS = 3000;
/** The owner renews every lease this often: two renewals may fail in a row before the lease lapses. */
export const LEASE_RENEW_INTERVAL_MS = 1000;

// Compare-and-renew. 1: renewed (it is still ours). 2: it was gone (Redis restarted, or it lapsed
// with nobody taking it) and ARGV[3] allowed taking it back, so it is ours again. 3: it was gone and
// may not be taken back here (nobody holds it). 0: someone else holds it.
const RENEW = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not current and ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
if not current then return 3 end
return 0
`);
// Compare-and-release: deletes the lease only if it is still ours. 1: released; 0: it was not ours.
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`);

/**
 * Why a lease is no longer this node's: `taken`, another node holds it; `lapsed`, it ran out past
 * this node's last confirmation (Redis could not be reached) and nobody is known to hold it.
 */
type LeaseLoss = 'taken' | 'lapsed';

export type LeaseEvents = {
  /** Another node holds the lease now (or it lapsed past our last confirmation): stop acting as the owner. */
  lost: [reason: LeaseLoss];
  /** This node gave the lease up (release()). */
  released: [];
};

/** The node id in a holder token `<nodeId>/<incarnation>` (node ids contain no '/'). */
export function nodeIdOfHolder(holder: string): string {
  return holder.slice(0, holder.lastIndexOf('/'));
}

/**
 * This node's ownership of one live interview: a Redis key holding this process's holder token,
 * expiring `ttlMs` after the last renewal. Renewals and the release compare the token inside Redis
 * (a Lua script), so a node never extends or deletes a lease another node has taken since.
 */
export class Lease extends EventEmitter<LeaseEvents> {
  readonly interviewId: string;
  readonly holder: string;
  readonly #redis: RedisClient;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  #state: 'held' | 'lost' | 'released' = 'held';
  /**
   * Until when (this process's clock) the lease is certainly ours: the time a successful SET or
   * renewal was *sent*, plus the TTL. Past it, Redis may have expired it and another node taken it.
   */
  #confirmedUntil: number;

  constructor(options: { interviewId: string; holder: string; redis: RedisClient; ttlMs: number; sentAt: number; logger: Logger }) {
    super();
    this.interviewId = options.interviewId;
    this.holder = options.holder;
    this.#redis = options.redis;
    this.#ttlMs = options.ttlMs;
    this.#logger = options.logger;
    this.#confirmedUntil = options.sentAt + options.ttlMs;
  }

  /** Neither lost nor released (a renewal may be failing: see `confirmedUntil`). */
  get held(): boolean {
    return this.#state === 'held';
  }

  get confirmedUntil(): number {
    return this.#confirmedUntil;
  }

  /**
   * Extends the lease by the TTL if it is still ours; false (and `lost`) when it is not. A Redis
   * that lost the key (restarted) gets it back while this node's last confirmation still runs —
   * nobody else can have held it in that time. Throws when Redis cannot be reached (still held;
   * the next renewal tries again).
   */
  async renew(): Promise<boolean> {
    if (this.#state !== 'held') return false;
    const sentAt = Date.now();
    const mayRetake = sentAt < this.#confirmedUntil;
    const result = await RENEW.run(this.#redis, [clusterKeys.lease(this.interviewId)], [this.holder, String(this.#ttlMs), mayRetake ? '1' : '0']);
    if (this.#state !== 'held') return false;
    if (result === 1 || result === 2) {
      if (result === 2) this.#logger.info({ interviewId: this.interviewId }, 'the lease was gone from Redis (restarted?) and is taken back');
      this.#confirmedUntil = sentAt + this.#ttlMs;
      return true;
    }
    this.#lose(result === 3 ? 'lapsed' : 'taken');
    return false;
  }

  /**
   * Gives the lease up if it is still ours (true); never deletes another node's. Idempotent. It
   * counts as released here at once: a Redis that does not answer lets the key lapse instead.
   */
  async release(): Promise<boolean> {
    if (this.#state !== 'held') return false;
    this.#state = 'released';
    this.emit('released');
    return (await RELEASE.run(this.#redis, [clusterKeys.lease(this.interviewId)], [this.holder])) === 1;
  }

  /** Marks the lease lost without asking Redis (its last confirmation ran out). */
  lapse(): void {
    if (this.#state === 'held') this.#lose('lapsed');
  }

  #lose(reason: LeaseLoss): void {
    this.#state = 'lost';
    this.#logger.warn({ interviewId: this.interviewId, reason }, reason === 'taken' ? 'lost the lease of the interview to another node' : 'the lease of the interview ran out (Redis could not be reached)');
    this.emit('lost', reason);
  }
}

export interface InterviewLeasesOptions {
  redis: RedisClient;
  nodeId: string;
  logger: Logger;
  ttlMs?: number;
  renewIntervalMs?: number;
}

/**
 * The leases this node holds on live interviews: taken with SET NX PX (exactly one node gets
 * each), renewed together on a timer, released when the interview is done here. A lease whose
 * renewals keep failing past its last confirmation is given up locally (`lost`), because Redis
 * has expired it by then and another node may own the interview.
 */
export class InterviewLeases {
  readonly nodeId: string;
  /** `<nodeId>/<random>`: a restarted node (same NODE_ID) does not mistake its previous run's leases for its own. */
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly #redis: RedisClient;
  readonly #logger: Logger;
  /** The leases this node renews (each one's session holds it; no lookup by interview here). */
  readonly #held = new Set<Lease>();
  readonly #timer: NodeJS.Timeout;
  #renewing: Promise<void> | undefined;
  #closed = false;

  constructor(options: InterviewLeasesOptions) {
    this.nodeId = options.nodeId;
    this.holder = `${options.nodeId}/${randomUUID()}`;
    this.ttlMs = options.ttlMs ?? LEASE_TTL_MS;
    this.renewIntervalMs = options.renewIntervalMs ?? LEASE_RENEW_INTERVAL_MS;
    if (this.renewIntervalMs * 2 > this.ttlMs) throw new Error('a lease must outlive two renewal intervals');
    this.#redis = options.redis;
    this.#logger = options.logger.child({ component: 'leases', nodeId: options.nodeId });
    this.#timer = setInterval(() => {
      this.#renewing ??= this.renewAll().finally(() => (this.#renewing = undefined));
    }, this.renewIntervalMs);
    this.#timer.unref();
  }

  /** Takes the interview's lease if nobody holds it; undefined when another node does. */
  async acquire(interviewId: string): Promise<Lease | undefined> {
    if (this.#closed) throw new Error('the leases are closed');
    const existing = [...this.#held].find((lease) => lease.interviewId === interviewId && lease.held);
    if (existing) return existing;
    const sentAt = Date.now();
    const taken = await this.#redis.set(clusterKeys.lease(interviewId), this.holder, { condition: 'NX', expiration: { type: 'PX', value: this.ttlMs } });
    if (taken !== 'OK') return undefined;
    const lease = new Lease({ interviewId, holder: this.holder, redis: this.#redis, ttlMs: this.ttlMs, sentAt, logger: this.#logger });
    this.#held.add(lease);
    const forget = () => this.#held.delete(lease);
    lease.once('lost', forget);
    lease.once('released', forget);
    return lease;
  }

  /** The node that owns the interview now, if any. */
  async ownerOf(interviewId: string): Promise<string | undefined> {
    const holder = await this.#redis.get(clusterKeys.lease(interviewId));
    return holder ? nodeIdOfHolder(holder) : undefined;
  }

  /** Who owns each interview now (undefined: nobody), in the order asked; one round trip. */
  async ownersOf(interviewIds: readonly string[]): Promise<Array<string | undefined>> {
    if (interviewIds.length === 0) return [];
    const holders = await this.#redis.mGet(interviewIds.map((id) => clusterKeys.lease(id)));
    return holders.map((holder) => (typeof holder === 'string' ? nodeIdOfHolder(holder) : undefined));
  }

  /** The leases this node holds. */
  get held(): Lease[] {
    return [...this.#held.values()];
  }

  /** Renews every held lease once (the timer calls this). */
  async renewAll(): Promise<void> {
    await Promise.all(
      this.held.map(async (lease) => {
        try {
          await lease.renew();
        } catch (error) {
          if (Date.now() >= lease.confirmedUntil) {
            this.#logger.warn({ err: error, interviewId: lease.interviewId }, 'the lease could not be renewed before it ran out');
            lease.lapse();
          }
        }
      }),
    );
  }

  /**
   * Stops renewing. `release` (a graceful stop) gives every lease up at once so another node can
   * take the interviews without waiting for the TTL; without it they lapse by themselves.
   */
  async close(options: { release?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#renewing;
    if (options.release) {
      await Promise.allSettled(this.held.map((lease) => lease.release()));
    }
  }
}
