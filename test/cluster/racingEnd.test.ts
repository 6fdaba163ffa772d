// Two nodes (in-process services on one PostgreSQL, one Redis and one object store) ending one
// interview at the same instant finalize it exactly once: one `interview.completed` event, each
// final file stored by one request that completes it, and files that play. First through the admin
// API of both nodes at once (node B forwards to the owner, node A); then the way two end timers
// would fire if both nodes believed they owned it (a lease that could not decide, Redis away):
// both nodes' sessions end it at once, and only the database's compare-and-set tells them apart.
// Each node reaches the store through a proxy of its own that records its requests.
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { FaultyProxy, type ForwardedRequest } from '../support/faultyProxy.ts';
import { hasCues, probeFile } from '../support/ffprobe.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { download, publishSynthetic, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { WebhookReceiver, webhookSecret } from '../support/webhookReceiver.ts';
import { capturingLogger, startTestService, type CapturedLog, type TestService } from '../support/testService.ts';

/** A request that makes a final recording object exist: CompleteMultipartUpload, or a whole PUT. */
function finishesObject(request: ForwardedRequest): boolean {
  if (!/^\/[^/]+\/interviews\/[^/]+\/(screen|candidate)\.webm$/.test(request.url.pathname)) return false;
  const { searchParams } = request.url;
  return (request.method === 'POST' && searchParams.has('uploadId')) || (request.method === 'PUT' && !searchParams.has('uploadId'));
}

describe('two nodes racing to end one interview', () => {
  let postgres: PostgresServer;
  let redis: RedisServer;
  let s3: EmbeddedS3Server;
  let storeDir: string;
  let webhooks: WebhookReceiver;
  const secret = webhookSecret();
  const nodes: Array<{ t: TestService; proxy: FaultyProxy; lines: CapturedLog[] }> = [];
  let publisher: SyntheticPublisher | undefined;
  beforeAll(async () => {
    storeDir = tempDir('racing-s3-');
    [postgres, redis, s3, webhooks] = await Promise.all([startPostgres(), startRedis(), EmbeddedS3Server.start({ directory: storeDir, bucket: 'interviews' }), WebhookReceiver.start(secret)]);
  });
  afterEach(async () => {
    await publisher?.close();
    publisher = undefined;
    for (const node of nodes.splice(0)) {
      await node.t.close();
      await node.proxy.close();
    }
  });
  afterAll(async () => {
    await Promise.all([postgres?.stop(), redis?.stop(), s3?.close(), webhooks?.close()]);
    fs.rmSync(storeDir, { recursive: true, force: true });
  });

  async function startNode(databaseUrl: string, nodeId: string, env: Record<string, string> = {}) {
    const proxy = await FaultyProxy.start(s3.endpoint, { failFirst: 0 });
    const { logger, lines } = capturingLogger();
    const t = await startTestService(
      {
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        NODE_ID: nodeId,
        S3_ENDPOINT: proxy.url,
        S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
        S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
        WEBHOOK_URL: webhooks.url,
        WEBHOOK_SECRET: secret,
        ...env,
      },
      { logger },
    );
    const node = { t, proxy, lines };
    nodes.push(node);
    return node;
  }

  /** A live interview recorded on node A (its owner), with a few seconds of media. */
  async function liveOnA(databaseName: string, env: Record<string, string> = {}) {
    const databaseUrl = await postgres.createDatabase(databaseName);
    const a = await startNode(databaseUrl, 'node-a', env);
    const b = await startNode(databaseUrl, 'node-b', env);
    const interview = await a.t.createInterview({ durationSeconds: 600 });
    publisher = await publishSynthetic(a.t, interview.id);
    await waitForStatus(a.t, interview.id, 'live', 20_000);
    await waitFor(async () => (await b.t.service.leases!.ownerOf(interview.id)) === 'node-a', { what: "node-a's lease" });
    await waitForRecordedBytes(a.t, interview.id, 150_000);
    return { databaseName, a, b, id: interview.id };
  }

  /** Exactly one finalization happened: one completed event, one finishing request per file, files that play. */
  async function expectOneFinalization(scene: { databaseName: string; a: (typeof nodes)[number]; b: (typeof nodes)[number]; id: string }, endedAt: number) {
    const { a, b, id } = scene;
    const done = await waitForStatus(a.t, id, ['completed', 'failed'], 90_000);
    console.log(`${id}: ${done.status} ${Date.now() - endedAt} ms after both ends`);
    expect(done).toMatchObject({ status: 'completed', failureReason: null });
    // Both sessions have settled (a second finalization, were there one, would have ended by now too).
    await Promise.all([a.t.service.sessions.idle(), b.t.service.sessions.idle()]);
    const events = await postgres.query<{ type: string }>(scene.databaseName, 'select type from webhook_events where interview_id = $1 order by created_at', [id]);
    expect(events.map((event) => event.type)).toEqual(['interview.live', 'interview.completed']);
    const completedHooks = await waitFor(() => {
      const received = webhooks.ofType('interview.completed').filter((hook) => hook.body?.data?.interviewId === id);
      return received.length > 0 ? received : undefined;
    }, { what: 'the completed webhook' });
    expect(new Set(completedHooks.map((hook) => hook.id)).size).toBe(1);
    const finishing = (node: (typeof nodes)[number]) => node.proxy.forwarded.filter(finishesObject).map((request) => request.url.pathname.split('/').pop());
    console.log(`requests completing a final file: node-a ${JSON.stringify(finishing(a))}, node-b ${JSON.stringify(finishing(b))}`);
    expect([...finishing(a), ...finishing(b)].sort()).toEqual(['candidate.webm', 'screen.webm']);
    const finalizedBy = await postgres.query<{ finalizing_node: string | null; claim_expires_at: Date | null }>(scene.databaseName, 'select finalizing_node, claim_expires_at from interviews where id = $1', [id]);
    expect(finalizedBy).toEqual([{ finalizing_node: null, claim_expires_at: null }]);
    for (const url of [done.screenVideo, done.candidateVideo]) {
      const file = await download(url, a.t.adminToken);
      const probed = await probeFile(file);
      expect(probed.video?.codecName).toBe('vp9');
      expect(probed.durationSeconds).toBeGreaterThan(1);
      expect(await hasCues(file)).toBe(true);
    }
    return done;
  }

  it('through both nodes\' admin API at the same instant: node B forwards to the owner, which ends and finalizes it once', async () => {
    const scene = await liveOnA('racing_admin');
    const { a, b, id } = scene;
    const endedAt = Date.now();
    const answers = await Promise.all([a.t.api('POST', `/api/interviews/${id}/end`, { score: 3 }), b.t.api('POST', `/api/interviews/${id}/end`, { notes: 'from node b' })]);
    console.log(`both POST /end answered in ${Date.now() - endedAt} ms`);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    const done = await expectOneFinalization(scene, endedAt);
    // Both reviews are kept; only node A's session ended it (node B's request ran there).
    expect(done).toMatchObject({ score: 3, notes: 'from node b' });
    expect(b.t.service.sessions.get(id)).toBeUndefined();
  });

  it('by both nodes\' sessions at the same instant (two timers): one end is stored, one node finalizes', async () => {
    // The journal on (as a cluster runs): whichever node finalizes has the recording.
    const scene = await liveOnA('racing_timers', { RECORDING_JOURNAL_SECONDS: '1' });
    const { a, b, id } = scene;
    const endedAt = Date.now();
    const ended = await Promise.all([a.t.service.sessions.open(id).end('timer'), b.t.service.sessions.open(id).end('timer')]);
    expect(ended.map((interview) => interview.status)).toEqual(['finalizing', 'finalizing']);
    // Both stored the same end: one compare-and-set won, the other read its completedAt back.
    expect(ended[0]!.completedAt?.getTime()).toBe(ended[1]!.completedAt?.getTime());
    await expectOneFinalization(scene, endedAt);
    // Node B's session (no recording) either lost the compare-and-set or read the end node A had stored already.
    const stoppedLate = [a, b].filter((node) => node.lines.some((line) => line.msg === 'another node ended the interview first; stopping here too'));
    console.log(`nodes that found the end stored by the other: ${stoppedLate.map((node) => node.t.service.nodes?.nodeId).join() || 'none'}`);
  });
});
