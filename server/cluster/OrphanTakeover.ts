import type { Logger } from 'pino';
import { chooseNode } from './placeNewInterview.ts';
import type { InterviewLeases } from './InterviewLeases.ts';
import { LEASE_TTL_MS } from './InterviewLeases.ts';
import type { NodeHeartbeat } from './NodeRegistry.ts';
import type { RedisClient } from './redisClient.ts';

/** How often a node looks for live interviews nobody owns (a dead owner's lease lapses ≤ 3 s after its death). */
const ORPHAN_SCAN_INTERVAL_MS = 500;
/**
 * A node the orphan is not assigned to claims it after it has stayed unowned this long: the node
 * it is assigned to may be dying too, or slow. Long enough for the assigned node's next scans.
 */
const FALLBACK_AFTER_MS = 1500;
/**
 * A Redis up for less than this may have restarted empty: every lease is gone, and their owners,
 * alive, write them back at their next renewal (≤ 1 s after they reconnect; RENEW in
 * InterviewLeases.ts). Until then "no lease" does not mean "no owner". A node's own confirmation of
 * its lease lasts the TTL, so past TTL + 1 s no owner can still take one back.
 */
const REDIS_SETTLE_MS = LEASE_TTL_MS + 1000;

/**
 * Which node takes each orphan: the least-loaded open node (as `chooseNode` decides for a new
 * interview), one orphan at a time, each counted on its node before the next is placed. Every node
 * computes the same answer from the same heartbeats, so orphans of a dead node spread over the
 * others instead of all going to whichever node was least loaded at that moment.
 */
export function assignOrphans(interviewIds: readonly string[], nodes: readonly NodeHeartbeat[]): Map<string, string> {
  const assigned = new Map<string, string>();
  const loads = nodes.map((node) => ({ ...node }));
  for (const interviewId of [...interviewIds].sort()) {
    let chosen: NodeHeartbeat;
    try {
      chosen = chooseNode(loads);
    } catch {
      // No node has room: the fallback (whichever node claims first) still takes it.
      break;
    }
    assigned.set(interviewId, chosen.nodeId);
    const node = loads.find((load) => load.nodeId === chosen.nodeId)!;
    node.reservedCores += node.liveSessions > 0 ? node.reservedCores / node.liveSessions : 0;
    node.liveSessions += 1;
  }
  return assigned;
}

export interface OrphanTakeoverOptions {
  redis: RedisClient;
  leases: InterviewLeases;
  nodes: { nodes(): Promise<NodeHeartbeat[]> };
  /** The interviews stored as live (the database is shared by every node). */
  liveInterviews: () => Promise<string[]>;
  /** Makes this node the interview's owner if it can take the lease (the session's resume()). */
  takeOver: (interviewId: string) => Promise<void>;
  /** A draining node takes nothing over: it is handing its own interviews away. */
  draining: () => boolean;
  logger: Logger;
  intervalMs?: number;
  /** How long an orphan assigned to another node waits before this one claims it too. */
  fallbackAfterMs?: number;
}

/**
 * A running node's part in surviving another's death: every scan it lists the live interviews, and
 * those whose lease is gone (their owner stopped renewing it) are orphans. The node each orphan is
 * assigned to claims it at once; any other node claims it if it stays orphaned past the fallback
 * delay. The lease's SET NX decides between nodes that claim at once: exactly one becomes the
 * owner, resumes the session (timer, then the recording when the pages come back) and the others'
 * claims find it owned.
 */
export class OrphanTakeover {
  readonly #options: OrphanTakeoverOptions;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  /** When each orphan was first seen unowned by this node. */
  readonly #orphanedSince = new Map<string, number>();
  #scanning: Promise<void> | undefined;
  #failing = false;
  #closed = false;

  constructor(options: OrphanTakeoverOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'takeover' });
    this.#timer = setInterval(() => {
      this.#scanning ??= this.scan().finally(() => (this.#scanning = undefined));
    }, options.intervalMs ?? ORPHAN_SCAN_INTERVAL_MS);
    this.#timer.unref();
  }

  /** One look for orphans, and the claims this node makes (the timer calls this). Never rejects. */
  async scan(): Promise<void> {
    if (this.#closed || this.#options.draining()) return;
    try {
      await this.#scan();
      if (this.#failing) this.#logger.info('looking for orphaned interviews works again');
      this.#failing = false;
    } catch (error) {
      // The database or Redis is down: the next scan tries again (logged once per outage).
      if (!this.#failing) this.#logger.warn({ err: error }, 'could not look for orphaned interviews');
      this.#failing = true;
    }
  }

  async #scan(): Promise<void> {
    const { leases } = this.#options;
    const mine = new Set(leases.held.map((lease) => lease.interviewId));
    const live = (await this.#options.liveInterviews()).filter((id) => !mine.has(id));
    const owners = await leases.ownersOf(live);
    const orphans = live.filter((_, index) => owners[index] === undefined);
    for (const id of this.#orphanedSince.keys()) if (!orphans.includes(id)) this.#orphanedSince.delete(id);
    if (orphans.length === 0) return;
    if ((await this.#redisUptimeMs()) < REDIS_SETTLE_MS) return;
    const now = Date.now();
    for (const id of orphans) if (!this.#orphanedSince.has(id)) this.#orphanedSince.set(id, now);
    const assigned = assignOrphans(orphans, await this.#options.nodes.nodes());
    for (const id of orphans) {
      if (this.#closed || this.#options.draining()) return;
      const mineToTake = assigned.get(id) === leases.nodeId;
      const waited = now - this.#orphanedSince.get(id)!;
      if (!mineToTake && waited < (this.#options.fallbackAfterMs ?? FALLBACK_AFTER_MS)) continue;
      this.#logger.info({ interviewId: id, assigned: assigned.get(id) ?? null, orphanedMs: waited }, 'taking over a live interview whose owner is gone');
      await this.#options.takeOver(id);
      if (leases.held.some((lease) => lease.interviewId === id)) {
        this.#orphanedSince.delete(id);
        this.#logger.info({ interviewId: id }, 'took over the interview');
      }
    }
  }

  /** How long Redis has been up (INFO server), in ms (1 s resolution). */
  async #redisUptimeMs(): Promise<number> {
    const info = await this.#options.redis.info('server');
    const seconds = /uptime_in_seconds:(\d+)/.exec(info)?.[1];
    // A Redis that does not say (a proxy, a managed service hiding INFO) is taken as settled.
    return seconds === undefined ? Number.POSITIVE_INFINITY : Number(seconds) * 1000;
  }

  /** Stops scanning (a claim in progress finishes). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#scanning;
  }
}
