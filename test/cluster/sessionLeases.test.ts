// Interview sessions of two nodes (in-process services on one PostgreSQL and one Redis): the node
// whose session goes live takes the interview's lease and keeps it across a Redis restart (its
// heartbeats and socket.io's notifications come back too), releases it once the interview is
// completed, and a node that starts while another owns a live interview leaves its timer alone.
// Meanwhile its pages opened at another node's URL are sent to the owner.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../server/cluster/clusterKeys.ts';
import { LEASE_TTL_MS } from '../../server/cluster/InterviewLeases.ts';
import { closeRedisClient, openRedisClient } from '../../server/cluster/redisClient.ts';
import { publishSynthetic, waitForStatus } from '../support/recordedInterview.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';
import { connect, request } from '../signaling/signalingClient.ts';

describe('interview sessions in cluster mode', () => {
  let postgres: PostgresServer;
  let redis: RedisServer;
  const nodes: TestService[] = [];
  const closers: Array<() => unknown> = [];
  let publisher: SyntheticPublisher | undefined;
  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await publisher?.close();
    publisher = undefined;
    for (const node of nodes.splice(0)) await node.close();
  });
  afterAll(async () => {
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  async function startNode(databaseUrl: string, nodeId: string): Promise<TestService> {
    const node = await startTestService({ DATABASE_URL: databaseUrl, REDIS_URL: redis.url, NODE_ID: nodeId });
    nodes.push(node);
    return node;
  }

  it('lease the interview to the node where it goes live, through a Redis restart, until it is completed', async () => {
    const databaseUrl = await postgres.createDatabase('session_leases');
    const a = await startNode(databaseUrl, 'node-a');
    const b = await startNode(databaseUrl, 'node-b');
    const interview = await a.createInterview({ durationSeconds: 12 });
    // A proctor watches from node B; the candidate's media arrives on node A.
    const proctorOnB = await connect(b.url, interview.proctorToken);
    closers.push(() => proctorOnB.close());
    expect(await request(proctorOnB, 'join', { interviewId: interview.id })).toMatchObject({ ok: true });
    const endedOnB = new Promise((resolve) => proctorOnB.once('interviewEnded', resolve));
    const pageStatus = async (node: TestService, page: string) => {
      const response = await fetch(`${node.url}/${page}/${interview.id}`, { redirect: 'manual' });
      return { status: response.status, location: response.headers.get('location') };
    };
    // Nobody owns it before it goes live: any node serves its pages.
    expect(await pageStatus(b, 'interview')).toEqual({ status: 200, location: null });
    publisher = await publishSynthetic(a, interview.id);
    await waitForStatus(a, interview.id, 'live', 20_000);

    await waitFor(() => a.service.leases!.held.some((lease) => lease.interviewId === interview.id), { what: "node-a's lease" });
    expect(await b.service.leases!.ownerOf(interview.id)).toBe('node-a');
    expect(await b.service.leases!.acquire(interview.id)).toBeUndefined();
    expect(a.service.sessions.get(interview.id)?.timerArmed).toBe(true);
    // Live on node A: its pages opened at node B's URL are sent to node A (the browser keeps the #token).
    expect(await pageStatus(b, 'interview')).toEqual({ status: 307, location: `${a.url}/interview/${interview.id}` });
    expect(await pageStatus(b, 'proctor')).toEqual({ status: 307, location: `${a.url}/proctor/${interview.id}` });
    expect(await pageStatus(a, 'interview')).toEqual({ status: 200, location: null });

    // Redis restarts mid-interview, its data gone: the owner writes its lease back, the heartbeats return.
    await redis.restart();
    const upAt = Date.now();
    await waitFor(async () => (await b.service.leases!.ownerOf(interview.id)) === 'node-a', { timeoutMs: 5000, intervalMs: 20, what: 'the lease back in Redis' });
    const leaseBackMs = Date.now() - upAt;
    await waitFor(async () => (await b.service.nodes!.nodes()).map((node) => node.nodeId).join() === 'node-a,node-b', { timeoutMs: 5000, intervalMs: 20, what: 'both heartbeats back' });
    const heartbeatsBackMs = Date.now() - upAt;
    console.log(`Redis restarted mid-interview: the lease was back after ${leaseBackMs} ms, both heartbeats after ${heartbeatsBackMs} ms`);
    expect(leaseBackMs).toBeLessThan(3000);
    expect(heartbeatsBackMs).toBeLessThan(2000);
    expect(await b.service.leases!.acquire(interview.id)).toBeUndefined();

    // The owner's timer ends it; the proctor on node B is told (socket.io's stream survived the restart).
    const done = await waitForStatus(a, interview.id, 'completed', 90_000);
    expect(done.screenVideo).toEqual(expect.any(String));
    expect(await Promise.race([endedOnB, new Promise((resolve) => setTimeout(() => resolve('no notice'), 5000))])).toMatchObject({ cause: 'timer' });
    // Done on node A: the lease is released at once, not left to lapse.
    await waitFor(async () => (await b.service.leases!.ownerOf(interview.id)) === undefined, { timeoutMs: 2000, what: 'the lease released' });
    expect(a.service.leases!.held).toEqual([]);
    expect(await pageStatus(b, 'proctor')).toEqual({ status: 200, location: null });
  });

  it('leave a live interview to the node that owns it: a node starting meanwhile does not arm its timer, one starting after the owner left does (after its own previous run\'s lease lapsed)', async () => {
    const databaseUrl = await postgres.createDatabase('session_resume');
    const a = await startNode(databaseUrl, 'node-a');
    const interview = await a.createInterview({ durationSeconds: 600 });
    publisher = await publishSynthetic(a, interview.id);
    await waitForStatus(a, interview.id, 'live', 20_000);
    await waitFor(() => a.service.leases!.held.length === 1, { what: "node-a's lease" });

    // node-b starts and resumes every live interview: this one is node-a's.
    const b = await startNode(databaseUrl, 'node-b');
    expect(b.service.sessions.get(interview.id)?.timerArmed).toBe(false);
    expect(a.service.sessions.get(interview.id)?.timerArmed).toBe(true);
    expect(await b.service.leases!.ownerOf(interview.id)).toBe('node-a');

    // node-b leaves (a running node would take the interview over at once: test/cluster/rollingRestart);
    // then node-a stops gracefully with nobody to hand it to (its lease released, the interview still
    // live); node-c starts and takes it.
    await b.close();
    nodes.splice(nodes.indexOf(b), 1);
    await publisher.close();
    publisher = undefined;
    await a.close();
    nodes.splice(nodes.indexOf(a), 1);
    const admin = await openRedisClient({ url: redis.url, name: 'test', offlineQueue: false, logger: pino({ level: 'silent' }) });
    closers.push(() => closeRedisClient(admin));
    expect(await admin.get(clusterKeys.lease(interview.id))).toBeNull();
    // …although a lease of its own previous run (killed a moment ago, same NODE_ID) is still in Redis:
    // nobody renews that one, so node-c waits for it to lapse instead of leaving the interview unowned.
    await admin.set(clusterKeys.lease(interview.id), 'node-c/previous-run', { expiration: { type: 'PX', value: LEASE_TTL_MS } });
    const plantedAt = Date.now();
    const c = await startNode(databaseUrl, 'node-c');
    expect(await admin.get(clusterKeys.lease(interview.id))).toBe(c.service.leases!.holder);
    console.log(`a restarted node took its previous run's lease ${Date.now() - plantedAt} ms after it was last renewed (TTL ${LEASE_TTL_MS} ms)`);
    expect(Date.now() - plantedAt).toBeGreaterThanOrEqual(LEASE_TTL_MS - 100);
    expect(c.service.sessions.get(interview.id)?.timerArmed).toBe(true);
  });
});
