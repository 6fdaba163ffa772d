// Redis restarted, then hung, under a live interview of a two-node cluster (in-process services on
// one PostgreSQL and one Redis). After the restart (its data gone) the owner's lease and both
// heartbeats come back and the recording goes on. While Redis is hung (SIGSTOP: connections open,
// no answers) the admin API answers within its command timeouts instead of waiting for ever: the
// owner ends the interview it records and completes it without Redis, the other node (which cannot
// tell who owns it) answers 503 at once rather than storing an end the recording would never see.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getInterview, publishSynthetic, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { waitFor } from '../support/testConfig.ts';
import { capturingLogger, startTestService, type TestService } from '../support/testService.ts';

/** How long an admin request may take while Redis hangs: a few 1 s command timeouts, and the database. */
const ANSWER_BOUND_MS = 4000;

describe('a cluster when Redis restarts and hangs mid-interview', () => {
  let postgres: PostgresServer;
  let redis: RedisServer;
  const nodes: TestService[] = [];
  let publisher: SyntheticPublisher | undefined;
  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  });
  afterEach(async () => {
    redis.thaw();
    await publisher?.close();
    publisher = undefined;
    for (const node of nodes.splice(0)) await node.close();
  });
  afterAll(async () => {
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  it('keeps recording through the restart; while Redis hangs the owner ends and completes the interview, the other node answers 503 at once', async () => {
    const databaseUrl = await postgres.createDatabase('redis_outage');
    // The nodes' warnings about Redis go to these logs, not the test's output.
    const start = async (nodeId: string) => {
      const node = await startTestService({ DATABASE_URL: databaseUrl, REDIS_URL: redis.url, NODE_ID: nodeId }, { logger: capturingLogger().logger });
      nodes.push(node);
      return node;
    };
    const a = await start('node-a');
    const b = await start('node-b');
    const interview = await a.createInterview({ durationSeconds: 600 });
    publisher = await publishSynthetic(a, interview.id);
    await waitForStatus(a, interview.id, 'live', 20_000);
    await waitForRecordedBytes(a, interview.id, 50_000);
    await waitFor(async () => (await b.service.leases!.ownerOf(interview.id)) === 'node-a', { what: "node-a's lease" });

    // Restarted, its data gone: the lease and the heartbeats are written back; the recording never stopped.
    const recording = a.service.sessions.get(interview.id)!.recording!;
    const bytesBefore = (await recording.stats()).bytesWritten.screen;
    await redis.restart();
    const upAt = Date.now();
    await waitFor(async () => (await b.service.leases!.ownerOf(interview.id)) === 'node-a', { timeoutMs: 5000, intervalMs: 20, what: 'the lease back in Redis' });
    await waitFor(async () => (await b.service.nodes!.nodes()).length === 2, { timeoutMs: 5000, intervalMs: 20, what: 'both heartbeats back' });
    console.log(`Redis restarted: lease and heartbeats back ${Date.now() - upAt} ms after it answered again`);
    expect(a.service.sessions.get(interview.id)!.recording).toBe(recording);
    await waitFor(async () => (await recording.stats()).bytesWritten.screen > bytesBefore + 20_000, { timeoutMs: 10_000, what: 'the recording to grow across the restart' });
    expect(await getInterview(b, interview.id)).toMatchObject({ status: 'live' });

    // Hung: node B cannot tell who owns the interview, and says so quickly.
    redis.freeze();
    let sentAt = Date.now();
    const refused = await b.api<{ error: string }>('POST', `/api/interviews/${interview.id}/end`);
    const refusedMs = Date.now() - sentAt;
    console.log(`Redis hung: POST /end on node B answered ${refused.status} in ${refusedMs} ms`);
    expect(refused).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    expect(refusedMs).toBeLessThan(ANSWER_BOUND_MS);
    expect(await getInterview(b, interview.id)).toMatchObject({ status: 'live' });

    // The owner records it: it ends it, and delivers without Redis.
    sentAt = Date.now();
    const ended = await a.api('POST', `/api/interviews/${interview.id}/end`);
    const endedMs = Date.now() - sentAt;
    console.log(`Redis hung: POST /end on node A (the owner) answered ${ended.status} in ${endedMs} ms`);
    expect(ended.status).toBe(200);
    expect(endedMs).toBeLessThan(ANSWER_BOUND_MS);
    const done = await waitForStatus(a, interview.id, ['completed', 'failed'], 60_000);
    console.log(`Redis hung: completed ${Date.now() - sentAt} ms after the end`);
    expect(done).toMatchObject({ status: 'completed', failureReason: null });
    expect(done.screenVideo).toMatch(/\/screen\.webm$/);

    // Redis answers again: the released lease is gone from it, or lapses by itself.
    redis.thaw();
    await waitFor(async () => (await b.service.leases!.ownerOf(interview.id)) === undefined, { timeoutMs: 10_000, what: 'no owner once the interview is done' });
  });
});
