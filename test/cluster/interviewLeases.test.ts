// Interview leases in a real Redis, between nodes that each have their own connection: exactly one
// node wins each lease however they race, a lease is taken over within 5 s of its owner stopping,
// a node that lost a lease can neither renew nor release it, and a Redis restart does not cost the
// owner its leases.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../server/cluster/clusterKeys.ts';
import { InterviewLeases, LEASE_RENEW_INTERVAL_MS, LEASE_TTL_MS, nodeIdOfHolder, type Lease } from '../../server/cluster/InterviewLeases.ts';
import { closeRedisClient, openRedisClient, type RedisClient } from '../../server/cluster/redisClient.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { waitFor } from '../support/testConfig.ts';

const logger = pino({ level: 'silent' });

describe('interview leases', () => {
  let redis: RedisServer;
  const clients: RedisClient[] = [];
  const nodes: InterviewLeases[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    await (await client()).flushAll();
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.close();
    for (const each of clients.splice(0)) await closeRedisClient(each);
  });

  async function client(): Promise<RedisClient> {
    const opened = await openRedisClient({ url: redis.url, name: 'test', offlineQueue: false, logger });
    clients.push(opened);
    return opened;
  }

  /** A node's leases on its own connection (as each service process has). */
  async function node(nodeId: string, options: { ttlMs?: number; renewIntervalMs?: number; redisClient?: RedisClient } = {}): Promise<InterviewLeases> {
    const leases = new InterviewLeases({ redis: options.redisClient ?? (await client()), nodeId, logger, ...options });
    nodes.push(leases);
    return leases;
  }

  it('expire at most 5 s after the last renewal, renewed well within that', () => {
    expect(LEASE_TTL_MS).toBeLessThanOrEqual(5000);
    expect(LEASE_RENEW_INTERVAL_MS * 2).toBeLessThanOrEqual(LEASE_TTL_MS);
  });

  it('go to exactly one of two nodes racing for each of 300 interviews, over three rounds', async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const admin = await client();
    const wins = { 'node-a': 0, 'node-b': 0 };
    for (let round = 0; round < 3; round++) {
      const ids = Array.from({ length: 300 }, () => crypto.randomUUID());
      // Both ask for every lease at once, on their own connections. A client sends what was asked in
      // one tick as one write, so whichever flushes first wins that whole tick's leases: batches of
      // ten per tick, the first asker chosen at random, so both get to win.
      const results: Array<{ id: string; leases: Lease[] }> = [];
      for (let start = 0; start < ids.length; start += 10) {
        const batch = await Promise.all(
          ids.slice(start, start + 10).map(async (id) => {
            const contenders = Math.random() < 0.5 ? [a, b] : [b, a];
            const [first, second] = await Promise.all(contenders.map((leases) => leases.acquire(id)));
            return { id, leases: [first, second].filter((lease): lease is Lease => lease !== undefined) };
          }),
        );
        results.push(...batch);
      }
      for (const { id, leases } of results) {
        expect(leases).toHaveLength(1);
        const [lease] = leases;
        expect(await admin.get(clusterKeys.lease(id))).toBe(lease!.holder);
        wins[nodeIdOfHolder(lease!.holder) as keyof typeof wins]++;
      }
      expect(a.held.length + b.held.length).toBe(300);
      // And a node asking again for a lease the other holds still gets nothing.
      for (const { id, leases } of results.slice(0, 20)) {
        const other = leases[0]!.holder === a.holder ? b : a;
        expect(await other.acquire(id)).toBeUndefined();
        expect(await (other === a ? b : a).ownerOf(id)).toBe(nodeIdOfHolder(leases[0]!.holder));
      }
      for (const { leases } of results) expect(await leases[0]!.release()).toBe(true);
      expect(a.held.length + b.held.length).toBe(0);
    }
    console.log(`lease race over 900 interviews: node-a won ${wins['node-a']}, node-b ${wins['node-b']}`);
    expect(wins['node-a'] + wins['node-b']).toBe(900);
    // The race was real: both nodes won some.
    expect(wins['node-a']).toBeGreaterThan(0);
    expect(wins['node-b']).toBeGreaterThan(0);
  });

  it('are renewed by their owner for as long as it runs', async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const admin = await client();
    const id = crypto.randomUUID();
    const lease = (await a.acquire(id))!;
    // Past one TTL: only renewals can have kept it.
    const deadline = Date.now() + 1.7 * LEASE_TTL_MS;
    while (Date.now() < deadline) {
      expect(await b.acquire(id)).toBeUndefined();
      expect(await admin.pTTL(clusterKeys.lease(id))).toBeGreaterThan(LEASE_TTL_MS - LEASE_RENEW_INTERVAL_MS - 500);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(lease.held).toBe(true);
    expect(await admin.get(clusterKeys.lease(id))).toBe(a.holder);
  });

  it('are taken over by another node within 5 s of the owner stopping (measured)', async () => {
    const ownerClient = await openRedisClient({ url: redis.url, name: 'owner', offlineQueue: false, logger });
    const owner = await node('node-a', { redisClient: ownerClient });
    const taker = await node('node-b');
    const id = crypto.randomUUID();
    const lease = (await owner.acquire(id))!;
    const firstConfirmation = lease.confirmedUntil;
    // At least one renewal has happened: the owner keeps it alive, not the first SET.
    await waitFor(() => lease.confirmedUntil > firstConfirmation, { timeoutMs: 3 * LEASE_RENEW_INTERVAL_MS, what: 'a renewal' });
    // The owner stops as a SIGKILL stops it: its connection cut, nothing released.
    ownerClient.destroy();
    const stoppedAt = Date.now();
    const lastRenewalSentAt = lease.confirmedUntil - LEASE_TTL_MS;
    let taken: Lease | undefined;
    await waitFor(async () => (taken = await taker.acquire(id)), { timeoutMs: 8000, intervalMs: 20, what: 'node-b to take the lease' });
    const afterStopMs = Date.now() - stoppedAt;
    const afterLastRenewalMs = Date.now() - lastRenewalSentAt;
    console.log(`lease takeover: ${afterStopMs} ms after the owner stopped, ${afterLastRenewalMs} ms after its last renewal was sent (TTL ${LEASE_TTL_MS} ms, polling every 20 ms)`);
    expect(afterStopMs).toBeLessThanOrEqual(5000);
    // Not before the TTL ran out from the last renewal.
    expect(afterLastRenewalMs).toBeGreaterThanOrEqual(LEASE_TTL_MS - 50);
    expect(await taker.ownerOf(id)).toBe('node-b');
    expect(taken!.holder).toBe(taker.holder);
  });

  it('cannot be renewed or released by a node that lost it, and the new owner keeps it', async () => {
    const a = await node('node-a', { ttlMs: 600, renewIntervalMs: 200 });
    const b = await node('node-b', { ttlMs: 600, renewIntervalMs: 200 });
    const admin = await client();
    const id = crypto.randomUUID();
    const lost = (await a.acquire(id))!;
    let lostEvents = 0;
    lost.on('lost', () => lostEvents++);
    // node-a stalls (its renewals stop: a long GC pause, a frozen VM) and node-b takes the lease.
    await a.close();
    const taken = await waitFor(() => b.acquire(id), { timeoutMs: 3000, intervalMs: 20, what: 'node-b to take the lapsed lease' });
    expect(lost.held).toBe(true);

    // node-a wakes up: its renewal is refused, it learns it lost the lease.
    expect(await lost.renew()).toBe(false);
    expect(lost.held).toBe(false);
    expect(lostEvents).toBe(1);
    expect(await lost.release()).toBe(false);
    expect(await admin.get(clusterKeys.lease(id))).toBe(taken.holder);
    expect(await taken.renew()).toBe(true);
    expect(await admin.pTTL(clusterKeys.lease(id))).toBeGreaterThan(400);
    expect(await taken.release()).toBe(true);
    expect(await admin.exists(clusterKeys.lease(id))).toBe(0);
  });

  it('are not taken back by an owner whose lease ran out unrenewed, even when nobody else took it', async () => {
    const a = await node('node-a', { ttlMs: 400, renewIntervalMs: 200 });
    const admin = await client();
    const id = crypto.randomUUID();
    const lease = (await a.acquire(id))!;
    await a.close();
    await waitFor(async () => (await admin.exists(clusterKeys.lease(id))) === 0, { timeoutMs: 2000, intervalMs: 20, what: 'the lease to expire' });
    expect(Date.now()).toBeGreaterThan(lease.confirmedUntil);
    // Another node may have owned and finished the interview meanwhile: the old owner must not resurrect its lease.
    expect(await lease.renew()).toBe(false);
    expect(lease.held).toBe(false);
    expect(await admin.exists(clusterKeys.lease(id))).toBe(0);
  });

  it('stay with their owner across a Redis restart (the data gone): the next renewal writes them back', async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const leases = await Promise.all(ids.map((id) => a.acquire(id)));
    await redis.restart();
    const upAt = Date.now();
    const admin = await client();
    expect(await admin.exists(ids.map((id) => clusterKeys.lease(id)))).toBe(0);
    await waitFor(async () => (await admin.mGet(ids.map((id) => clusterKeys.lease(id)))).every((holder) => holder === a.holder), {
      timeoutMs: 5000,
      intervalMs: 20,
      what: 'node-a to write its leases back',
    });
    const backAfterMs = Date.now() - upAt;
    console.log(`after a Redis restart, the owner's leases were back ${backAfterMs} ms after Redis answered`);
    expect(backAfterMs).toBeLessThan(2 * LEASE_RENEW_INTERVAL_MS + 500);
    for (const lease of leases) expect(lease!.held).toBe(true);
    // Exclusive again: the other node gets none of them.
    for (const id of ids) expect(await waitFor(async () => (await b.acquire(id)) === undefined, { what: 'node-b to be refused' })).toBe(true);
  });
});
