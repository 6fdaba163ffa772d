// Each node's heartbeat in a real Redis: it appears within one interval with the node's load, URL
// and draining flag, beats at most a second apart, is gone by Redis's own expiry when the node
// stops, refuses a second process under one NODE_ID, and comes back after Redis restarts.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../server/cluster/clusterKeys.ts';
import { DuplicateNodeIdError, HEARTBEAT_EXPIRY_MS, HEARTBEAT_INTERVAL_MS, NodeRegistry, type NodeHeartbeat, type NodeLoad } from '../../server/cluster/NodeRegistry.ts';
import { closeRedisClient, openRedisClient, type RedisClient } from '../../server/cluster/redisClient.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { waitFor } from '../support/testConfig.ts';

const logger = pino({ level: 'silent' });
const idleLoad: NodeLoad = { liveSessions: 0, cores: 2, busyCores: 0.2, reservedCores: 0, thresholdCores: 1.6, diskOk: true, hasRoom: true };

describe('the node registry', () => {
  let redis: RedisServer;
  const clients: RedisClient[] = [];
  const registries: NodeRegistry[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    const admin = await client();
    await admin.flushAll();
  });
  afterEach(async () => {
    for (const registry of registries.splice(0)) await registry.close();
    for (const each of clients.splice(0)) await closeRedisClient(each);
  });

  async function client(): Promise<RedisClient> {
    const opened = await openRedisClient({ url: redis.url, name: 'test', offlineQueue: false, logger });
    clients.push(opened);
    return opened;
  }

  async function startNode(nodeId: string, options: { load?: () => NodeLoad; draining?: () => boolean; redisClient?: RedisClient } = {}): Promise<NodeRegistry> {
    const registry = await NodeRegistry.start({
      redis: options.redisClient ?? (await client()),
      nodeId,
      publicUrl: `http://127.0.0.1/${nodeId}`,
      load: options.load ?? (() => idleLoad),
      draining: options.draining ?? (() => false),
      logger,
    });
    registries.push(registry);
    return registry;
  }

  it('shows a started node to every other node within one interval, with its load, PUBLIC_URL and draining flag', async () => {
    expect(HEARTBEAT_INTERVAL_MS).toBeLessThanOrEqual(1000);
    const observer = await startNode('observer');
    let load: NodeLoad = { ...idleLoad, liveSessions: 3, busyCores: 1.1, reservedCores: 0.12 };
    let draining = false;
    const startedAt = Date.now();
    await startNode('node-a', { load: () => load, draining: () => draining });
    const seen = await waitFor(async () => (await observer.nodes()).find((node) => node.nodeId === 'node-a'), { timeoutMs: 1000, intervalMs: 20, what: 'node-a in the registry' });
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(seen).toMatchObject({ nodeId: 'node-a', publicUrl: 'http://127.0.0.1/node-a', draining: false, liveSessions: 3, busyCores: 1.1, reservedCores: 0.12, cores: 2, hasRoom: true });
    expect((await observer.nodes()).map((node) => node.nodeId)).toEqual(['node-a', 'observer']);

    // A change of load or draining reaches the others with the next beats.
    load = { ...load, liveSessions: 4, hasRoom: false };
    draining = true;
    const changed = await waitFor(async () => (await observer.nodes()).find((node) => node.nodeId === 'node-a' && node.draining), { timeoutMs: 2000, intervalMs: 20, what: 'node-a draining' });
    expect(changed).toMatchObject({ liveSessions: 4, hasRoom: false });
  });

  it('beats at most a second apart, and the key expires by itself within the expiry', async () => {
    const admin = await client();
    await startNode('node-a');
    const sentAt: number[] = [];
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const value = await admin.get(clusterKeys.node('node-a'));
      const beat = JSON.parse(value!) as NodeHeartbeat;
      if (sentAt.at(-1) !== beat.sentAt) sentAt.push(beat.sentAt);
      // The key's remaining life is Redis's clock, never more than the expiry.
      const ttl = await admin.pTTL(clusterKeys.node('node-a'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(HEARTBEAT_EXPIRY_MS);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const gaps = sentAt.slice(1).map((at, index) => at - sentAt[index]!);
    console.log(`heartbeat gaps over 3 s: ${gaps.join(', ')} ms (mean ${Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length)} ms)`);
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1000);
  });

  it('drops a node that stops beating (its process died) once its last heartbeat expires, and at once on a graceful close', async () => {
    const observer = await startNode('observer');
    const dyingClient = await openRedisClient({ url: redis.url, name: 'dying', offlineQueue: false, logger });
    const dying = await startNode('node-dies', { redisClient: dyingClient });
    await waitFor(async () => (await observer.nodes()).some((node) => node.nodeId === 'node-dies'), { what: 'node-dies listed' });
    expect(dying.health()).toMatchObject({ ok: true, nodeId: 'node-dies' });
    // The connection is cut as a SIGKILL would: no goodbye, no more beats.
    dyingClient.destroy();
    const lastBeatAt = dying.lastBeatAt!;
    expect((await observer.nodes()).map((node) => node.nodeId)).toContain('node-dies');
    await waitFor(async () => !(await observer.nodes()).some((node) => node.nodeId === 'node-dies'), { timeoutMs: 5000, intervalMs: 20, what: 'node-dies to expire' });
    const goneAfterMs = Date.now() - lastBeatAt;
    // Its own /healthz says so too (the cluster cannot see it any more).
    expect(dying.health()).toMatchObject({ ok: false, nodeId: 'node-dies' });
    console.log(`a stopped node left the registry ${goneAfterMs} ms after its last heartbeat (expiry ${HEARTBEAT_EXPIRY_MS} ms)`);
    // Redis's expiry, not an early drop: it stayed listed until then.
    expect(goneAfterMs).toBeGreaterThanOrEqual(HEARTBEAT_EXPIRY_MS - HEARTBEAT_INTERVAL_MS);
    expect(goneAfterMs).toBeLessThanOrEqual(HEARTBEAT_EXPIRY_MS + 300);
    // And the set of node ids forgets it.
    const admin = await client();
    expect(await admin.sMembers(clusterKeys.nodes)).toEqual(['observer']);

    const leaving = await startNode('node-leaves');
    await waitFor(async () => (await observer.nodes()).some((node) => node.nodeId === 'node-leaves'), { what: 'node-leaves listed' });
    await leaving.close();
    expect((await observer.nodes()).map((node) => node.nodeId)).toEqual(['observer']);
  });

  it('refuses a second process under a NODE_ID whose heartbeat is live, and takes over one whose process died', async () => {
    await startNode('node-a');
    const refusedAt = Date.now();
    await expect(startNode('node-a')).rejects.toBeInstanceOf(DuplicateNodeIdError);
    // It waited out one expiry first (the other might have been a killed previous run).
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(HEARTBEAT_EXPIRY_MS);

    const deadClient = await openRedisClient({ url: redis.url, name: 'dead', offlineQueue: false, logger });
    await startNode('node-b', { redisClient: deadClient });
    deadClient.destroy();
    const restarted = await startNode('node-b');
    expect(restarted.lastBeatAt).toBeDefined();
  });

  it('comes back by itself after Redis restarts (its data gone), within about a second of Redis answering again', async () => {
    const observer = await startNode('observer');
    const node = await startNode('node-a');
    let downMs: number | undefined;
    node.once('recovered', (ms) => (downMs = ms));
    await redis.restart();
    const upAt = Date.now();
    const admin = await client();
    expect(await admin.exists(clusterKeys.node('node-a'))).toBe(0);
    await waitFor(async () => (await observer.nodes()).map((each) => each.nodeId).join() === 'node-a,observer', { timeoutMs: 5000, intervalMs: 20, what: 'both nodes back' });
    const backAfterMs = Date.now() - upAt;
    console.log(`after a Redis restart, heartbeats were back ${backAfterMs} ms after Redis answered (beats failed for ${downMs ?? 0} ms)`);
    expect(backAfterMs).toBeLessThan(2000);
  });
});
