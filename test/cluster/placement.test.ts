// Placement of a new interview over the nodes registered in a real Redis: the least-loaded live
// node that is not draining and has room wins; a node that stopped beating is not chosen; with
// every node full the interview is refused (503 at_capacity).
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../server/errors.ts';
import { NodeRegistry, nodeLoadOf, type NodeHeartbeat, type NodeLoad } from '../../server/cluster/NodeRegistry.ts';
import { chooseNode, placeNewInterview } from '../../server/cluster/placeNewInterview.ts';
import { closeRedisClient, openRedisClient, type RedisClient } from '../../server/cluster/redisClient.ts';
import { Admission } from '../../server/admission/Admission.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { waitFor } from '../support/testConfig.ts';

const logger = pino({ level: 'silent' });

/** A node's load as its Admission reports it: `sessions` live interviews on 2 cores, 80 % threshold, 0.04 cores each. */
function loadWith(sessions: number, measuredBusyCores = 0): NodeLoad {
  const admission = new Admission({ maxCpuFraction: 0.8, cpuCostPerInterview: 0.04, measuredCpu: false }, () => sessions, { cores: 2 });
  const report = admission.report();
  admission.close();
  // The measured load stands for what CpuSampler would report on that node's machine.
  const thresholdCores = report.thresholdCores;
  return nodeLoadOf({ ...report, measuredBusyCores, ok: report.ok && measuredBusyCores < thresholdCores }, 2);
}

describe('placing a new interview', () => {
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
    const admin = await openRedisClient({ url: redis.url, name: 'test', offlineQueue: false, logger });
    clients.push(admin);
    await admin.flushAll();
  });
  afterEach(async () => {
    for (const registry of registries.splice(0)) await registry.close();
    for (const each of clients.splice(0)) await closeRedisClient(each);
  });

  async function startNode(nodeId: string, load: () => NodeLoad, options: { draining?: () => boolean; onClient?: (client: RedisClient) => void } = {}): Promise<NodeRegistry> {
    const client = await openRedisClient({ url: redis.url, name: nodeId, offlineQueue: false, logger });
    clients.push(client);
    options.onClient?.(client);
    const registry = await NodeRegistry.start({ redis: client, nodeId, publicUrl: `http://${nodeId}.internal`, load, draining: options.draining ?? (() => false), logger });
    registries.push(registry);
    return registry;
  }

  it('picks the least-loaded live node with room, skipping draining nodes and nodes that stopped', async () => {
    const loads: Record<string, NodeLoad> = { a: loadWith(5, 0.9), b: loadWith(2, 0.3), c: loadWith(0, 0.1) };
    let drainingC = false;
    let cClient: RedisClient | undefined;
    const a = await startNode('a', () => loads.a!);
    await startNode('b', () => loads.b!);
    await startNode('c', () => loads.c!, { draining: () => drainingC, onClient: (client) => (cClient = client) });
    const placed = async () => (await placeNewInterview(a)).nodeId;
    await waitFor(async () => (await a.nodes()).length === 3, { what: 'three nodes' });
    expect(await placed()).toBe('c');

    // c drains (a rolling restart): b, the next least loaded, gets the new interviews.
    drainingC = true;
    await waitFor(async () => (await placed()) === 'b', { timeoutMs: 2000, what: 'placement to skip the draining node' });
    expect((await a.nodes()).find((node) => node.nodeId === 'c')?.draining).toBe(true);

    // b's CPU climbs past a's: a is now the least loaded.
    loads.b = loadWith(2, 1.2);
    await waitFor(async () => (await placed()) === 'a', { timeoutMs: 2000, what: 'placement to follow the measured CPU' });

    // c comes back from draining, then dies: once its heartbeat expires it is not chosen either.
    drainingC = false;
    await waitFor(async () => (await placed()) === 'c', { timeoutMs: 2000, what: 'c back in placement' });
    cClient!.destroy();
    await waitFor(async () => (await placed()) === 'a', { timeoutMs: 4000, what: 'placement to forget the dead node' });
    expect((await a.nodes()).map((node) => node.nodeId)).toEqual(['a', 'b']);
  });

  it('refuses with at_capacity when every node is full (reservations or measured CPU past the threshold) or draining', async () => {
    // 2 cores × 80 % = 1.6 cores; 0.04 per interview: 40 fit, the 41st does not.
    expect(loadWith(39).hasRoom).toBe(true);
    expect(loadWith(40).hasRoom).toBe(false);
    const loads: Record<string, NodeLoad> = { a: loadWith(40), b: loadWith(3, 1.7) };
    let drainingB = false;
    const a = await startNode('a', () => loads.a!);
    await startNode('b', () => loads.b!, { draining: () => drainingB });
    await waitFor(async () => (await a.nodes()).length === 2, { what: 'two nodes' });
    const refusal = await placeNewInterview(a).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: 'at_capacity', message: expect.stringContaining('all 2 nodes are full') });

    // b's measured load drops: it has room again.
    loads.b = loadWith(3, 0.4);
    await waitFor(async () => (await placeNewInterview(a).catch(() => undefined))?.nodeId === 'b', { timeoutMs: 2000, what: 'b to have room' });
    // …but a draining node takes nothing.
    drainingB = true;
    await waitFor(async () => (await placeNewInterview(a).catch((error: unknown) => error)) instanceof AppError, { timeoutMs: 2000, what: 'the refusal while b drains' });
    await expect(placeNewInterview(a)).rejects.toThrow(/1 draining/);
  });

  it('answers unavailable (503, retried by clients) while Redis cannot be reached', async () => {
    let aClient: RedisClient | undefined;
    const a = await startNode('a', () => loadWith(0), { onClient: (client) => (aClient = client) });
    expect((await placeNewInterview(a)).nodeId).toBe('a');
    aClient!.destroy();
    const refusal = await placeNewInterview(a).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/^the cluster's nodes cannot be listed right now \(Redis: /) });
  });

  it('breaks near-ties in measured CPU by live sessions, then by node id', () => {
    const node = (nodeId: string, load: NodeLoad): NodeHeartbeat => ({ ...load, nodeId, publicUrl: '', draining: false, startedAt: 0, sentAt: 0, incarnation: nodeId });
    // Two nodes on one machine measure the same CPU within noise: the one with fewer sessions wins.
    expect(chooseNode([node('a', loadWith(4, 0.52)), node('b', loadWith(1, 0.55))]).nodeId).toBe('b');
    expect(chooseNode([node('b', loadWith(1, 0.5)), node('a', loadWith(1, 0.5))]).nodeId).toBe('a');
    // A real difference in CPU outweighs sessions.
    expect(chooseNode([node('a', loadWith(4, 0.2)), node('b', loadWith(1, 0.9))]).nodeId).toBe('a');
    expect(() => chooseNode([])).toThrow(/no node of the cluster is up/);
    // A node whose disk is nearly full has no room, however idle its CPU.
    const fullDisk = { ...loadWith(0, 0.1), ...nodeLoadOf({ ...new Admission({ maxCpuFraction: 0.8, cpuCostPerInterview: 0.04, measuredCpu: false }, () => 0, { cores: 2 }).report() }, 2, false) };
    expect(fullDisk).toMatchObject({ diskOk: false, hasRoom: false });
    expect(chooseNode([node('a', fullDisk), node('b', loadWith(10, 0.9))]).nodeId).toBe('b');
  });
});
