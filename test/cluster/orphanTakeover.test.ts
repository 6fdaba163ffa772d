// Orphaned live interviews (their owner stopped renewing its lease) in a real Redis, between nodes
// that each have their own connection, heartbeat and leases: each orphan goes to exactly one node,
// the node it is assigned to (the least loaded, orphans spread), or any other if that node does not
// claim it; and a Redis that just started (empty, its leases' owners about to write them back) gets
// no claims until those owners had their chance.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InterviewLeases } from '../../server/cluster/InterviewLeases.ts';
import { NodeRegistry, type NodeHeartbeat, type NodeLoad } from '../../server/cluster/NodeRegistry.ts';
import { OrphanTakeover, assignOrphans } from '../../server/cluster/OrphanTakeover.ts';
import { closeRedisClient, openRedisClient, type RedisClient } from '../../server/cluster/redisClient.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { waitFor } from '../support/testConfig.ts';

const logger = pino({ level: 'silent' });
const load = (liveSessions: number): NodeLoad => ({ liveSessions, cores: 2, busyCores: 0, reservedCores: liveSessions * 0.04, thresholdCores: 0, diskOk: true, hasRoom: true });
const heartbeat = (nodeId: string, liveSessions: number): NodeHeartbeat => ({ ...load(liveSessions), nodeId, publicUrl: `http://${nodeId}`, draining: false, startedAt: 0, sentAt: 0, incarnation: nodeId });

describe('orphaned interviews', () => {
  it('are assigned to the least-loaded open nodes, spread one at a time, the same on every node', () => {
    const nodes = [heartbeat('node-b', 1), heartbeat('node-c', 0), { ...heartbeat('node-d', 0), draining: true }];
    const assigned = assignOrphans(['i3', 'i1', 'i2'], nodes);
    // node-c has none: it takes the first; then both have one and the id breaks the tie.
    expect(Object.fromEntries(assigned)).toEqual({ i1: 'node-c', i2: 'node-b', i3: 'node-c' });
    expect(assignOrphans(['i1', 'i2', 'i3'], [...nodes].reverse())).toEqual(assigned);
    expect(assignOrphans(['i1'], [{ ...heartbeat('node-b', 0), hasRoom: false }])).toEqual(new Map());
  });

  describe('in a real Redis', () => {
    let redis: RedisServer;
    const closers: Array<() => Promise<unknown>> = [];
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    /** A node: its own connection, heartbeat (with `liveSessions`) and leases; its takeover only if `watching`. */
    async function node(nodeId: string, liveInterviews: string[], options: { liveSessions?: number; watching?: boolean; fallbackAfterMs?: number } = {}) {
      const client: RedisClient = await openRedisClient({ url: redis.url, name: nodeId, offlineQueue: false, logger });
      closers.push(() => closeRedisClient(client));
      const leases = new InterviewLeases({ redis: client, nodeId, logger });
      closers.push(() => leases.close());
      // Heartbeats outlive a busy test process's late timers: this case is about the assignment,
      // and a node whose heartbeat lapsed is rightly left out of it (seen in CI: node-c, seeing
      // only itself, took node-b's share too).
      const registry = await NodeRegistry.start({ redis: client, nodeId, publicUrl: `http://${nodeId}`, load: () => load(options.liveSessions ?? 0), draining: () => false, logger, expiryMs: 10_000 });
      closers.push(() => registry.close());
      if (options.watching !== false) {
        const takeover = new OrphanTakeover({
          redis: client,
          leases,
          nodes: registry,
          liveInterviews: async () => liveInterviews,
          takeOver: async (interviewId) => void (await leases.acquire(interviewId)),
          draining: () => false,
          logger,
          ...(options.fallbackAfterMs === undefined ? {} : { fallbackAfterMs: options.fallbackAfterMs }),
        });
        closers.push(() => takeover.close());
      }
      return leases;
    }

    const redisUptimeSeconds = async (client: RedisClient) => Number(/uptime_in_seconds:(\d+)/.exec(await client.info('server'))![1]);

    it('are left alone while Redis may have just restarted empty, then go to exactly one node each', async () => {
      await redis.restart();
      const orphans = Array.from({ length: 4 }, () => crypto.randomUUID());
      // The fallback is out of this case's way: on a busy machine a node's scan can come more than
      // the default 1.5 s after the other's, and the other would take what was not assigned to it.
      const b = await node('node-b', orphans, { liveSessions: 1, fallbackAfterMs: 60_000 });
      const c = await node('node-c', orphans, { liveSessions: 0, fallbackAfterMs: 60_000 });
      const held = () => [...b.held, ...c.held].map((lease) => `${lease.interviewId}:${lease.holder.split('/')[0]}`).sort();
      const admin = await openRedisClient({ url: redis.url, name: 'admin', offlineQueue: false, logger });
      closers.push(() => closeRedisClient(admin));
      // Up less than the lease TTL and a second: nobody claims. (Redis reports whole seconds, so
      // only a reading of 3 or less is surely before the nodes' own 4 s mark.)
      await waitFor(
        async () => {
          // The claims first: one made before the reading shows in it as 4 s or more.
          const claimed = held();
          const upSeconds = await redisUptimeSeconds(admin);
          if (upSeconds <= 3) expect(claimed).toEqual([]);
          return upSeconds >= 4;
        },
        { timeoutMs: 10_000, intervalMs: 100, what: 'Redis to have been up 4 s' },
      );
      const settledAt = Date.now();
      await waitFor(() => held().length === 4, { timeoutMs: 3000, intervalMs: 20, what: 'every orphan claimed' });
      // Exactly one node each: four leases, four different interviews.
      expect(new Set(held().map((entry) => entry.split(':')[0]))).toEqual(new Set(orphans));
      // The spread is the assignment when both nodes scan in step. A node scans again every 0.5 s
      // over the orphans still left, so one that is late to claim its share (a loaded machine,
      // seen in CI: node-c took 3 of 4) can see part of it go to the other: the spread is a
      // best effort, the single owner is what the leases guarantee.
      const assigned = assignOrphans(orphans, [heartbeat('node-b', 1), heartbeat('node-c', 0)]);
      expect(new Set(assigned.values())).toEqual(new Set(['node-b', 'node-c']));
      const asAssigned = held().filter((entry) => entry === `${entry.split(':')[0]}:${assigned.get(entry.split(':')[0]!)}`).length;
      console.log(`4 orphans claimed ${Date.now() - settledAt} ms after Redis had been up 4 s; ${asAssigned} of 4 by the node they were assigned to`);
    });

    it('assigned to a node that does not claim them are taken by another after the fallback delay', async () => {
      const admin = await openRedisClient({ url: redis.url, name: 'admin', offlineQueue: false, logger });
      closers.push(() => closeRedisClient(admin));
      await waitFor(async () => (await redisUptimeSeconds(admin)) >= 4, { timeoutMs: 10_000, what: 'Redis to have been up 4 s' });
      const orphan = crypto.randomUUID();
      // node-c is the least loaded but does not watch (its takeover is stuck, say).
      const c = await node('node-c', [orphan], { liveSessions: 0, watching: false });
      const startedAt = Date.now();
      const b = await node('node-b', [orphan], { liveSessions: 3 });
      await waitFor(() => b.held.some((lease) => lease.interviewId === orphan), { timeoutMs: 4000, intervalMs: 20, what: 'node-b to take the orphan' });
      const tookMs = Date.now() - startedAt;
      console.log(`an orphan assigned to a silent node was taken by another ${tookMs} ms after that one started watching`);
      expect(tookMs).toBeGreaterThanOrEqual(1500);
      expect(c.held).toEqual([]);
    });
  });
});
