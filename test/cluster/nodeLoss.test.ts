// Fault in a cluster: the node that owns a live interview is lost — its whole process group
// SIGKILLed *and its DATA_DIR deleted* — while another node runs on. Two service processes on one
// PostgreSQL, one Redis and one external object store, the recording journal on. The other node
// takes the orphaned interview's lease within 5 s (nobody restarts anything), the candidate's page
// (real Chromium, loaded from the dead node) finds the new owner by itself and republishes, and
// both final files hold what was recorded on both nodes: all but the outage and the last journal
// shipment before it.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../server/cluster/clusterKeys.ts';
import { closeRedisClient, openRedisClient, type RedisClient } from '../../server/cluster/redisClient.ts';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { buildClient, launchBrowser, pageErrors, pressStart, type TestBrowser } from '../support/browser.ts';
import { downloadTo, logServiceOnFailure, recordedMedia, waitForInterview, waitForMediaFlowing } from '../support/faults.ts';
import { hasCues } from '../support/ffprobe.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

/** Recording time on node A before its loss, and on node B after the takeover (the sleeps are this recording time). */
const RECORD_MS = 8000;
const JOURNAL_SECONDS = 2;
/** The bound: another node holds the lease this soon after the owner's death. */
const TAKEOVER_LIMIT_MS = 5000;

describe('when the node that owns a live interview is lost (process group killed, DATA_DIR deleted)', () => {
  let postgres: PostgresServer;
  let redis: RedisServer;
  let s3: EmbeddedS3Server;
  let admin: RedisClient;
  const envs: ServiceEnv[] = [];
  const services: ServiceProcess[] = [];
  let browser: TestBrowser | undefined;
  const s3Dir = tempDir('node-loss-s3-');
  const downloads = tempDir('node-loss-downloads-');
  logServiceOnFailure(() => services.find((service) => !service.hasExited));

  beforeAll(async () => {
    buildClient();
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    s3 = await EmbeddedS3Server.start({ directory: s3Dir, bucket: 'interviews' });
    admin = await openRedisClient({ url: redis.url, name: 'test', offlineQueue: false, logger: pino({ level: 'silent' }) });
    const shared = {
      DATABASE_URL: await postgres.createDatabase('node_loss'),
      REDIS_URL: redis.url,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
      S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
      RECORDING_JOURNAL_SECONDS: String(JOURNAL_SECONDS),
    };
    envs.push(await serviceEnv({ ...shared, NODE_ID: 'node-a' }), await serviceEnv({ ...shared, NODE_ID: 'node-b' }));
    // One at a time: the first migrates the fresh database (the other would wait for it anyway).
    for (const env of envs) services.push(await ServiceProcess.start(env));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    for (const service of services) await service.kill();
    if (admin) await closeRedisClient(admin);
    await s3?.close();
    await Promise.all([postgres?.stop(), redis?.stop()]);
    for (const dir of [...envs.map((env) => env.DATA_DIR), s3Dir, downloads]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('another node takes the interview over within 5 s, the page follows it, and both files hold both stretches', async () => {
    const testStartedAt = Date.now();
    const [a, b] = services as [ServiceProcess, ServiceProcess];
    await waitFor(async () => (await admin.sMembers(clusterKeys.nodes)).length === 2, { what: 'both nodes registered' });
    const created = await a.api<{ id: string; candidateUrl: string }>('POST', '/api/interviews', { durationSeconds: 90, candidateName: 'Node Loss' });
    expect(created.status).toBe(201);
    const { id, candidateUrl } = created.body;
    // Both idle: the tie goes to node-a, whose URL the link names.
    expect(candidateUrl.startsWith(`${a.url}/interview/${id}#token=`)).toBe(true);

    const candidate: Page = await browser!.newPage();
    const errors = pageErrors(candidate);
    await pressStart(candidate, candidateUrl);
    const live = await waitForInterview(a, id, (state) => state.status === 'live', 'the interview to go live');
    const flowingAt = (await waitForMediaFlowing(a, 0)).time;
    const holder = async () => (await admin.get(clusterKeys.lease(id))) ?? '';
    expect(await holder()).toMatch(/^node-a\//);

    await sleep(RECORD_MS);
    // The machine is gone: every process of node A at once, then its disk.
    const lostAt = Date.now();
    await a.kill();
    fs.rmSync(a.env.DATA_DIR, { recursive: true, force: true });
    const beforeLoss = (lostAt - flowingAt) / 1000;

    await waitFor(async () => (await holder()).startsWith('node-b/'), { timeoutMs: TAKEOVER_LIMIT_MS + 5000, intervalMs: 20, what: 'node B to take the lease' });
    const takeoverMs = Date.now() - lostAt;
    // The page, still at node A's URL, reconnected to node B by itself and republished there.
    const resumed = await waitForMediaFlowing(b, lostAt, 30_000);
    const outage = (resumed.time - lostAt) / 1000;
    console.log(`node lost: node B held the lease ${takeoverMs} ms after the kill; media flowed on node B ${outage.toFixed(2)} s after it (segment ${resumed.index})`);
    expect(takeoverMs).toBeLessThanOrEqual(TAKEOVER_LIMIT_MS);
    expect(candidate.url().startsWith(`${a.url}/interview/${id}`)).toBe(true);
    await expect.poll(() => candidate.locator('#recording').textContent()).toBe('Recording');

    await sleep(RECORD_MS);
    const endAt = Date.now();
    expect((await b.api('POST', `/api/interviews/${id}/end`, {})).status).toBe(200);
    const done = await waitForInterview(b, id, (state) => state.status === 'completed' || state.status === 'failed', 'the interview to be delivered', 90_000);
    expect(done.status, done.failureReason ?? '').toBe('completed');
    expect(done.startedAt).toBe(live.startedAt);
    const afterLoss = (endAt - resumed.time) / 1000;
    // The candidate's page went to the end page on the node it now signals with.
    await expect.poll(() => candidate.url()).toContain(`${b.url}/interview/end/${id}`);

    // The loss is one gap, from node A's last journal shipment to the media's return on node B.
    expect(done.gaps).toHaveLength(1);
    expect(done.gaps[0]!.cause).toBe('service restarted');
    const gapStart = Date.parse(done.gaps[0]!.start);
    expect(gapStart).toBeGreaterThan(lostAt - (JOURNAL_SECONDS + 1) * 1000);
    expect(gapStart).toBeLessThanOrEqual(lostAt);

    const expected = beforeLoss + afterLoss;
    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      const media = await recordedMedia(file);
      const lost = expected - media.durationSeconds!;
      console.log(
        `${kind}.webm: ${media.durationSeconds} s of ${expected.toFixed(2)} s expected (${beforeLoss.toFixed(2)} s on node A + ${afterLoss.toFixed(2)} s on node B; ` +
          `outage ${outage.toFixed(2)} s not counted): ${lost.toFixed(2)} s lost besides the outage`,
      );
      // Without the journal only node B's stretch would be there.
      expect(lost).toBeLessThanOrEqual(JOURNAL_SECONDS + 1.5);
      expect(media.durationSeconds!).toBeLessThan(expected + 1);
      expect(Math.abs(media.video.last - media.audio.last)).toBeLessThan(0.5);
      expect(await hasCues(file)).toBe(true);
    }
    expect(errors.filter((error) => !/WebSocket|ERR_CONNECTION_REFUSED|net::/.test(error))).toEqual([]);
    console.log(`node loss test: ${((Date.now() - testStartedAt) / 1000).toFixed(1)} s`);
  }, 180_000);
});
