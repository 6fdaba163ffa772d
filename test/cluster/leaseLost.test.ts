// A node that loses a live interview's lease stops recording it. Two in-process nodes on one
// PostgreSQL and one Redis; the interview is live and recorded on node A when node B takes its
// lease (the key deleted and claimed by node B, as a takeover after a Redis blip would): node A's
// next renewal finds the lease another node's, its session closes the room (the recording stops),
// drops its timer, and its pages are told to reconnect to node B — never two nodes recording one
// interview.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../server/cluster/clusterKeys.ts';
import { LEASE_RENEW_INTERVAL_MS } from '../../server/cluster/InterviewLeases.ts';
import { closeRedisClient, openRedisClient } from '../../server/cluster/redisClient.ts';
import { publishSynthetic, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';
import { connect, request } from '../signaling/signalingClient.ts';

describe('a node whose lease of a live interview is taken by another node', () => {
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

  it('stops recording it, drops its timer and sends its pages to the new owner', async () => {
    const databaseUrl = await postgres.createDatabase('lease_lost');
    const a = await startTestService({ DATABASE_URL: databaseUrl, REDIS_URL: redis.url, NODE_ID: 'node-a' });
    nodes.push(a);
    const b = await startTestService({ DATABASE_URL: databaseUrl, REDIS_URL: redis.url, NODE_ID: 'node-b' });
    nodes.push(b);
    const admin = await openRedisClient({ url: redis.url, name: 'test', offlineQueue: false, logger: pino({ level: 'silent' }) });
    closers.push(() => closeRedisClient(admin));

    const interview = await a.createInterview({ durationSeconds: 600 });
    const proctor = await connect(a.url, interview.proctorToken);
    closers.push(() => proctor.close());
    expect(await request(proctor, 'join', { interviewId: interview.id })).toMatchObject({ ok: true });
    const moved = new Promise<{ ownerUrl: string }>((resolve) => proctor.once('interviewMoved', resolve));
    publisher = await publishSynthetic(a, interview.id);
    await waitForStatus(a, interview.id, 'live', 20_000);
    await waitForRecordedBytes(a, interview.id, 50_000);
    const sessionOnA = a.service.sessions.get(interview.id)!;
    expect(sessionOnA.timerArmed).toBe(true);

    // Node B takes the lease. Node A may write a missing key back at its renewal (it still holds
    // its confirmation), so the delete and node B's claim are repeated until node B holds it.
    const takenAt = Date.now();
    await waitFor(
      async () => {
        await admin.del(clusterKeys.lease(interview.id));
        return b.service.leases!.acquire(interview.id);
      },
      { timeoutMs: 5000, intervalMs: 10, what: 'node B to take the lease' },
    );
    // Node B runs it now, as a takeover would.
    await b.service.sessions.open(interview.id).resume();
    expect(b.service.sessions.get(interview.id)?.timerArmed).toBe(true);

    await waitFor(() => sessionOnA.recording === undefined && sessionOnA.room === undefined, { timeoutMs: 2 * LEASE_RENEW_INTERVAL_MS + 3000, what: "node A's recording to stop" });
    const stoppedMs = Date.now() - takenAt;
    const notice = await Promise.race([moved, new Promise<string>((resolve) => setTimeout(() => resolve('no notice'), 5000))]);
    console.log(`lease taken by node B: node A stopped recording ${stoppedMs} ms later and told its pages ${JSON.stringify(notice)}`);
    expect(notice).toEqual({ ownerUrl: (await b.service.nodes!.node('node-b'))!.publicUrl });
    expect(sessionOnA.timerArmed).toBe(false);
    expect(a.service.leases!.held).toEqual([]);
    expect(await admin.get(clusterKeys.lease(interview.id))).toBe(b.service.leases!.holder);
    expect(a.service.sessions.recordingCount).toBe(0);
  });
});
