// Two service processes (the bundle dist/server/main.mjs, as in production) on one PostgreSQL and one Redis,
// started at the same moment on a fresh database: each heartbeats with its own PUBLIC_URL, a link
// made on node A is accepted by node B's signalling, B's admin API lists A's interview, a
// notification raised on A reaches a page connected to B, and a killed node drops out by expiry.
import fs from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../server/cluster/clusterKeys.ts';
import { HEARTBEAT_EXPIRY_MS, type NodeHeartbeat } from '../../server/cluster/NodeRegistry.ts';
import { closeRedisClient, openRedisClient } from '../../server/cluster/redisClient.ts';
import { RoleTokens } from '../../server/auth/RoleTokens.ts';
import { connect, connected, connectRaw, request } from '../signaling/signalingClient.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { ServiceProcess, serviceEnv } from '../support/serviceProcess.ts';
import { Service } from '../../server/Service.ts';
import { randomRtcPorts } from '../support/rtcPorts.ts';
import { freePort, testConfig, waitFor } from '../support/testConfig.ts';

const tokenOf = (url: string): string => new URLSearchParams(new URL(url).hash.slice(1)).get('token')!;

describe('two nodes on one PostgreSQL and one Redis', () => {
  let postgres: PostgresServer;
  let redis: RedisServer;
  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  it('share links, interviews and notifications, and each node drops out of the cluster when it stops', async () => {
    const databaseUrl = await postgres.createDatabase('two_nodes');
    const cluster = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url };
    const envs = [await serviceEnv({ ...cluster, NODE_ID: 'node-a' }), await serviceEnv({ ...cluster, NODE_ID: 'node-b' })];
    const admin = await openRedisClient({ url: redis.url, name: 'test', offlineQueue: false, logger: pino({ level: 'silent' }) });
    const sockets: Array<{ close(): void }> = [];
    const started = await Promise.allSettled(envs.map((env) => ServiceProcess.start(env)));
    const services = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      expect(started.map((result) => (result.status === 'rejected' ? String(result.reason) : 'started'))).toEqual(['started', 'started']);
      const [a, b] = services as [ServiceProcess, ServiceProcess];
      // One of them migrated the fresh database; the other waited for it.
      expect(services.map((service) => service.logged('database migrated').length).sort()).toEqual([0, 1]);

      // Both are registered, each with its own PUBLIC_URL.
      const heartbeats = async () => (await admin.mGet([clusterKeys.node('node-a'), clusterKeys.node('node-b')])).map((value) => (value ? (JSON.parse(value) as NodeHeartbeat) : undefined));
      const [beatA, beatB] = await waitFor(async () => ((await heartbeats()).every(Boolean) ? heartbeats() : undefined), { what: 'both heartbeats' });
      expect(beatA).toMatchObject({ nodeId: 'node-a', publicUrl: a.url, draining: false, hasRoom: true });
      expect(beatB).toMatchObject({ nodeId: 'node-b', publicUrl: b.url, draining: false, hasRoom: true, diskOk: true });
      // /healthz has a cluster probe: this node's heartbeat reaches Redis.
      const health = await fetch(`${b.url}/healthz`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { cluster: unknown }).cluster).toMatchObject({ ok: true, nodeId: 'node-b' });

      // An interview created through node A…
      const created = await a.api<{ id: string; candidateUrl: string; proctorUrl: string }>('POST', '/api/interviews', { durationSeconds: 600, candidateName: 'Ada Lovelace' });
      expect(created.status).toBe(201);
      const { id } = created.body;
      // …is placed on the least-loaded node: both idle, so the tie goes to node-a, whose URL the
      // links name — also when the interview is created through node B.
      expect(created.body.candidateUrl.startsWith(`${a.url}/interview/${id}#token=`)).toBe(true);
      const throughB = await b.api<{ id: string; candidateUrl: string; proctorUrl: string }>('POST', '/api/interviews', { durationSeconds: 600, candidateName: 'Grace Hopper' });
      expect(throughB.status).toBe(201);
      expect(throughB.body.proctorUrl.startsWith(`${a.url}/proctor/${throughB.body.id}#token=`)).toBe(true);
      // Both are listed and shown by node B's admin API.
      const listed = await b.api<Array<{ id: string; candidateName: string }>>('GET', '/api/interviews');
      expect(listed.status).toBe(200);
      expect(listed.body.map((interview) => [interview.id, interview.candidateName]).sort()).toEqual(
        [
          [id, 'Ada Lovelace'],
          [throughB.body.id, 'Grace Hopper'],
        ].sort(),
      );
      expect(await b.api('GET', `/api/interviews/${id}`)).toMatchObject({ status: 200, body: { id, status: 'created' } });

      // Node A's links are accepted by node B's signalling (the keys are the cluster's, not the node's).
      const proctorOnB = await connect(b.url, tokenOf(created.body.proctorUrl));
      sockets.push(proctorOnB);
      expect(await request(proctorOnB, 'join', { interviewId: id })).toMatchObject({ ok: true });
      const candidateOnB = await connect(b.url, tokenOf(created.body.candidateUrl));
      sockets.push(candidateOnB);
      expect(await request(candidateOnB, 'join', { interviewId: id })).toMatchObject({ ok: true });
      // A token signed with any other key is still refused there.
      const forged = connectRaw(b.url, new RoleTokens('not-the-cluster-key-0123456789abcdefghijklm').issue(id, 'proctor', 600));
      sockets.push(forged);
      await expect(connected(forged)).rejects.toMatchObject({ data: { code: 'unauthorized' } });

      // Ended through node A's admin API: the pages connected to node B are told (socket.io over Redis).
      const endedOnB = new Promise((resolve) => proctorOnB.once('interviewEnded', resolve));
      const ended = await a.api<{ status: string }>('POST', `/api/interviews/${id}/end`, {});
      expect(ended.status).toBe(200);
      const notice = await Promise.race([endedOnB, new Promise((resolve) => setTimeout(() => resolve('no notice within 5 s'), 5000))]);
      expect(notice).toEqual({ endUrl: `/interview/end/${id}`, cause: 'admin' });

      // Node A killed (process group, no goodbye): it leaves the cluster when its heartbeat expires.
      await a.kill();
      const killedAt = Date.now();
      await waitFor(async () => (await admin.exists(clusterKeys.node('node-a'))) === 0, { timeoutMs: HEARTBEAT_EXPIRY_MS + 2000, intervalMs: 20, what: "node-a's heartbeat to expire" });
      console.log(`a SIGKILLed node's heartbeat expired ${Date.now() - killedAt} ms after the kill`);
      expect(await admin.exists(clusterKeys.node('node-b'))).toBe(1);

      // Node B stopped gracefully (SIGTERM): within a heartbeat it shows as draining (or is gone),
      // so no new interview is placed there; it removes itself before it exits.
      for (const socket of sockets.splice(0)) socket.close();
      const terminating = b.terminate();
      const sigtermAt = Date.now();
      await waitFor(
        async () => {
          const value = await admin.get(clusterKeys.node('node-b'));
          return value === null || (JSON.parse(value) as NodeHeartbeat).draining;
        },
        { timeoutMs: 1500, intervalMs: 10, what: 'node-b to drain' },
      );
      console.log(`a SIGTERMed node stopped taking placements ${Date.now() - sigtermAt} ms after the signal`);
      expect((await terminating).code).toBe(0);
      expect(await admin.exists(clusterKeys.node('node-b'))).toBe(0);
      expect(await admin.sMembers(clusterKeys.nodes)).not.toContain('node-b');
    } finally {
      for (const socket of sockets) socket.close();
      for (const service of services) await service.kill();
      for (const env of envs) fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
      await closeRedisClient(admin);
    }
  });

  it('refuses to start a node whose Redis cannot be reached, naming REDIS_URL and the address but not the password', async () => {
    const databaseUrl = await postgres.createDatabase('redis_unreachable');
    // A port nothing listens on.
    const port = await freePort();
    const startedAt = Date.now();
    const config = await testConfig({ ...randomRtcPorts(), DATABASE_URL: databaseUrl, REDIS_URL: `redis://:s3cret-password@127.0.0.1:${port}`, NODE_ID: 'node-x' });
    let failure: unknown;
    try {
      failure = await Service.create(config).catch((error: unknown) => error);
    } finally {
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    }
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe(`could not reach Redis at 127.0.0.1:${port} (REDIS_URL) within 10 s`);
    expect(Date.now() - startedAt).toBeLessThan(20_000);
  });
});
