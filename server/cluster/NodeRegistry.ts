import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AdmissionReport } from '../admission/Admission.ts';
import { clusterKeys } from './clusterKeys.ts';
import { LuaScript } from './LuaScript.ts';
import type { RedisClient } from './redisClient.ts';

/** A node sends its heartbeat this often (the issue asks ≤ 1 s). */
export const HEARTBEAT_INTERVAL_MS = 500;
/** A heartbeat older than this is gone: Redis expires the key, four missed beats after the last. */
export const HEARTBEAT_EXPIRY_MS = 2000;

/** What a node measures of itself for placement: its Admission report and its live sessions. */
export interface NodeLoad {
  /** Interview sessions with media in their room (what admission reserves CPU for). */
  liveSessions: number;
  cores: number;
  /** The machine's busy cores, measured (CpuSampler's few-second mean; 0 when not measured). */
  busyCores: number;
  /** Cores the live sessions reserve (live sessions × INTERVIEW_CPU_COST). */
  reservedCores: number;
  /** Past this, the node refuses new interviews (ADMISSION_MAX_CPU_PERCENT of its cores); 0: admission off. */
  thresholdCores: number;
  /** Whether DATA_DIR's disk has more than MIN_FREE_DISK_MB free (as last checked). */
  diskOk: boolean;
  /** Whether this node takes one more interview now: its admission (CPU) and its disk. */
  hasRoom: boolean;
}

/** A node's load as its Admission and disk check see it (`cores`: the machine's). */
export function nodeLoadOf(report: AdmissionReport, cores: number, diskOk = true): NodeLoad {
  return {
    liveSessions: report.activeInterviews,
    cores,
    busyCores: report.measuredBusyCores,
    reservedCores: report.reservedCores,
    thresholdCores: report.thresholdCores,
    diskOk,
    hasRoom: report.ok && diskOk,
  };
}

/** One node as its last heartbeat describes it. */
export interface NodeHeartbeat extends NodeLoad {
  nodeId: string;
  /** Its PUBLIC_URL: where pages reach it. */
  publicUrl: string;
  /** Its INTERNAL_URL (PUBLIC_URL when unset): where the other nodes reach it. Absent from an older node's beat. */
  internalUrl?: string;
  /** A graceful shutdown began: it takes no new interviews. */
  draining: boolean;
  startedAt: number;
  /** The sender's clock at the beat (for display; liveness is the key's expiry in Redis). */
  sentAt: number;
  /** Tells apart two processes started with one NODE_ID. */
  incarnation: string;
}

export interface NodeRegistryOptions {
  redis: RedisClient;
  nodeId: string;
  publicUrl: string;
  /** INTERNAL_URL; undefined: PUBLIC_URL. */
  internalUrl?: string | undefined;
  load: () => NodeLoad;
  draining: () => boolean;
  logger: Logger;
  intervalMs?: number;
  expiryMs?: number;
}

export type NodeRegistryEvents = {
  /** A heartbeat reached Redis after one or more had failed (Redis was down or restarted). */
  recovered: [downMs: number];
};

// Writes the heartbeat unless another process holds this node id (its incarnation differs):
// two processes started with one NODE_ID must not take turns overwriting each other unseen.
// 1: written; 0: the key belongs to another incarnation.
const BEAT = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current).incarnation ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
`);
// Forgets a node id whose heartbeat key has expired, unless it beat again meanwhile.
const PRUNE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) return 1 end
return 0
`);
// Removes this node's heartbeat on a graceful stop, if it is still this incarnation's.
const LEAVE = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current).incarnation == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
`);

export class DuplicateNodeIdError extends Error {
  constructor(nodeId: string) {
    super(`another process is running as NODE_ID ${nodeId} (its heartbeat is live in Redis); give each node its own NODE_ID`);
    this.name = 'DuplicateNodeIdError';
  }
}

/**
 * This node's entry in the cluster: a heartbeat in Redis every `intervalMs` carrying its load,
 * PUBLIC_URL and whether it drains, kept as a key that Redis expires `expiryMs` after the last
 * beat — a node that stops (crash, SIGKILL, network) is gone from `nodes()` by itself. The same
 * class reads every node's entry for placement.
 */
export class NodeRegistry extends EventEmitter<NodeRegistryEvents> {
  readonly nodeId: string;
  readonly intervalMs: number;
  readonly expiryMs: number;
  readonly #options: NodeRegistryOptions;
  readonly #logger: Logger;
  readonly #incarnation = randomUUID();
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  /** The beat in flight, if any: ticks do not pile up while Redis is slow, and close() waits for it. */
  #beating: Promise<void> | undefined;
  #failingSince: number | undefined;
  #lastBeatAt: number | undefined;
  #closed = false;

  private constructor(options: NodeRegistryOptions) {
    super();
    this.nodeId = options.nodeId;
    this.intervalMs = options.intervalMs ?? HEARTBEAT_INTERVAL_MS;
    this.expiryMs = options.expiryMs ?? HEARTBEAT_EXPIRY_MS;
    if (this.expiryMs < 2 * this.intervalMs) throw new Error('a heartbeat must outlive at least two intervals');
    this.#options = options;
    this.#logger = options.logger.child({ component: 'node-registry', nodeId: options.nodeId });
  }

  /**
   * Registers the node (its first heartbeat) and keeps beating. A live heartbeat of another
   * process under the same id is waited out for one expiry — the previous run of this node may
   * have just been killed — and then refused.
   */
  static async start(options: NodeRegistryOptions): Promise<NodeRegistry> {
    const registry = new NodeRegistry(options);
    const deadline = Date.now() + registry.expiryMs + registry.intervalMs;
    while (!(await registry.#beat())) {
      if (Date.now() > deadline) throw new DuplicateNodeIdError(options.nodeId);
      await new Promise((resolve) => setTimeout(resolve, registry.intervalMs));
    }
    registry.#timer = setInterval(() => {
      registry.#beating ??= registry.#tick().finally(() => (registry.#beating = undefined));
    }, registry.intervalMs);
    registry.#timer.unref();
    registry.#logger.info({ intervalMs: registry.intervalMs, expiryMs: registry.expiryMs }, 'registered in the cluster');
    return registry;
  }

  /** When this node's last heartbeat reached Redis (Date.now()). */
  get lastBeatAt(): number | undefined {
    return this.#lastBeatAt;
  }

  /**
   * For /healthz: up while this node's last heartbeat reached Redis within the expiry — past it
   * the cluster no longer sees the node (no placements, and its leases may lapse).
   */
  health(): { ok: boolean; nodeId: string; lastHeartbeatMsAgo: number | null } {
    const ago = this.#lastBeatAt === undefined ? null : Date.now() - this.#lastBeatAt;
    return { ok: !this.#closed && ago !== null && ago < this.expiryMs, nodeId: this.nodeId, lastHeartbeatMsAgo: ago };
  }

  /** One node's last heartbeat, if it has not expired. */
  async node(nodeId: string): Promise<NodeHeartbeat | undefined> {
    const value = await this.#options.redis.get(clusterKeys.node(nodeId));
    return value ? (JSON.parse(value) as NodeHeartbeat) : undefined;
  }

  /** Every node whose heartbeat has not expired, this one included, by node id. */
  async nodes(): Promise<NodeHeartbeat[]> {
    const { redis } = this.#options;
    const ids = (await redis.sMembers(clusterKeys.nodes)).sort();
    if (ids.length === 0) return [];
    const values = await redis.mGet(ids.map((id) => clusterKeys.node(id)));
    const live: NodeHeartbeat[] = [];
    const expired: string[] = [];
    ids.forEach((id, index) => {
      const value = values[index];
      if (typeof value === 'string') live.push(JSON.parse(value) as NodeHeartbeat);
      else expired.push(id);
    });
    await Promise.all(expired.map((id) => PRUNE.run(redis, [clusterKeys.node(id), clusterKeys.nodes], [id])));
    return live;
  }

  /** Sends a heartbeat now, not at the next tick (a node that begins draining says so at once). */
  async beatNow(): Promise<void> {
    await this.#beating;
    await this.#tick();
  }

  /** One tick's beat; a failure is logged once, and its end once the beats get through again. */
  async #tick(): Promise<void> {
    if (this.#closed) return;
    try {
      const written = await this.#beat();
      if (!written) this.#logger.error('another process heartbeats under this NODE_ID; give each node its own NODE_ID');
      if (this.#failingSince !== undefined) {
        const downMs = Date.now() - this.#failingSince;
        this.#failingSince = undefined;
        this.#logger.info({ downMs }, 'heartbeats reach Redis again');
        this.emit('recovered', downMs);
      }
    } catch (error) {
      if (this.#failingSince === undefined) {
        this.#failingSince = Date.now();
        this.#logger.warn({ err: error }, 'a heartbeat did not reach Redis; retrying every interval');
      }
    }
  }

  /** Sends one heartbeat; false when another incarnation holds the node id. */
  async #beat(): Promise<boolean> {
    const heartbeat: NodeHeartbeat = {
      ...this.#options.load(),
      nodeId: this.nodeId,
      publicUrl: this.#options.publicUrl,
      internalUrl: this.#options.internalUrl ?? this.#options.publicUrl,
      draining: this.#options.draining(),
      startedAt: this.#startedAt,
      sentAt: Date.now(),
      incarnation: this.#incarnation,
    };
    const result = await BEAT.run(
      this.#options.redis,
      [clusterKeys.node(this.nodeId), clusterKeys.nodes],
      [JSON.stringify(heartbeat), this.#incarnation, String(this.expiryMs), this.nodeId],
    );
    if (result !== 1) return false;
    this.#lastBeatAt = Date.now();
    return true;
  }

  /**
   * Stops beating and removes this node's entry at once (a graceful stop), so placement stops
   * counting it without waiting for the expiry. Idempotent; a Redis that does not answer is left
   * to expire the entry.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#beating;
    try {
      await LEAVE.run(this.#options.redis, [clusterKeys.node(this.nodeId), clusterKeys.nodes], [this.#incarnation, this.nodeId]);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not remove this node from Redis; its heartbeat expires by itself');
    }
  }
}
