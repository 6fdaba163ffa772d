// Fault in a cluster: the node finalizing an ended interview is lost — its process group SIGKILLed
// and its DATA_DIR deleted — in the middle of the upload at the end. Two service processes on one
// PostgreSQL, one Redis and one object store, the recording journal on; each node reaches the store
// through a proxy of its own that records its requests. Node A's proxy holds part 1 of both files
// (the part the end uploads last, its header being rewritten), so node A dies with every other part
// stored and its claim still in the database. Node B takes the finalization over once that claim
// runs out, rebuilds the files from the journal, and completes the multipart uploads node A began:
// no part node A stored goes up again, the interview completes once, and both files play.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINALIZATION_CLAIM_TTL_MS } from '../../server/session/FinalizationClaim.ts';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { buildClient, launchBrowser, pageErrors, pressStart, type TestBrowser } from '../support/browser.ts';
import { FaultyProxy, type ForwardedRequest } from '../support/faultyProxy.ts';
import { downloadTo, logServiceOnFailure, recordedMedia, waitForInterview, waitForMediaFlowing } from '../support/faults.ts';
import { decodeErrors, hasCues } from '../support/ffprobe.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { WebhookReceiver, webhookSecret } from '../support/webhookReceiver.ts';

/** Recording time before the end (the sleep is this recording time): a few parts per file. */
const RECORD_MS = 12_000;
const PART_SIZE_BYTES = 512 * 1024;
/** FinalizationTakeover's sweep interval: a node notices a claim that ran out this much later at most. */
const SWEEP_MS = 5000;

interface StoredRow {
  kind: 'screen' | 'candidate';
  status: string;
  size_bytes: string;
  multipart_upload_id: string | null;
  multipart_parts: Array<{ partNumber: number; sizeBytes: number }>;
}

/** A PUT of one of the interview's final files: an UploadPart (its number), or the whole object (part 0). */
function finalUpload(request: ForwardedRequest, id: string): { kind: string; partNumber: number; bytes: number } | undefined {
  const match = new RegExp(`/interviews/${id}/(screen|candidate)\\.webm$`).exec(request.url.pathname);
  if (!match || request.method !== 'PUT') return undefined;
  return { kind: match[1]!, partNumber: Number(request.url.searchParams.get('partNumber') ?? 0), bytes: request.contentLength ?? 0 };
}

function completesFinal(request: ForwardedRequest, id: string): boolean {
  return request.method === 'POST' && request.url.searchParams.has('uploadId') && new RegExp(`/interviews/${id}/(screen|candidate)\\.webm$`).test(request.url.pathname);
}

describe('when the node finalizing an ended interview is lost mid-upload (process group killed, DATA_DIR deleted)', () => {
  let postgres: PostgresServer;
  let redis: RedisServer;
  let s3: EmbeddedS3Server;
  let browser: TestBrowser | undefined;
  let webhooks: WebhookReceiver;
  const secret = webhookSecret();
  const proxies: FaultyProxy[] = [];
  const envs: ServiceEnv[] = [];
  const services: ServiceProcess[] = [];
  const s3Dir = tempDir('finalizer-lost-s3-');
  const downloads = tempDir('finalizer-lost-downloads-');
  logServiceOnFailure(() => services.find((service) => !service.hasExited));

  beforeAll(async () => {
    buildClient();
    [postgres, redis, webhooks] = await Promise.all([startPostgres(), startRedis(), WebhookReceiver.start(secret)]);
    s3 = await EmbeddedS3Server.start({ directory: s3Dir, bucket: 'interviews' });
    for (let index = 0; index < 2; index++) proxies.push(await FaultyProxy.start(s3.endpoint, { failFirst: 0 }));
    const shared = {
      DATABASE_URL: await postgres.createDatabase('finalizer_lost'),
      REDIS_URL: redis.url,
      S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
      S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
      RECORDING_JOURNAL_SECONDS: '1',
      WEBHOOK_URL: webhooks.url,
      WEBHOOK_SECRET: secret,
    };
    envs.push(
      await serviceEnv({ ...shared, NODE_ID: 'node-a', S3_ENDPOINT: proxies[0]!.url, TEST_PART_SIZE_BYTES: String(PART_SIZE_BYTES) }),
      await serviceEnv({ ...shared, NODE_ID: 'node-b', S3_ENDPOINT: proxies[1]!.url }),
    );
    // One at a time: the first migrates the fresh database. Node B as it runs in production: a
    // resumed upload keeps the part size it was begun with.
    services.push(await ServiceProcess.start(envs[0]!, 30_000, 'test/support/smallPartsMain.ts'), await ServiceProcess.start(envs[1]!));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    for (const service of services) await service.kill();
    for (const proxy of proxies) await proxy.close();
    await s3?.close();
    await Promise.all([postgres?.stop(), redis?.stop(), webhooks?.close()]);
    for (const dir of [...envs.map((env) => env.DATA_DIR), s3Dir, downloads]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('another node takes the finalization over, completes the uploads from their stored parts, and the interview completes once', async () => {
    const testStartedAt = Date.now();
    const [a, b] = services as [ServiceProcess, ServiceProcess];
    const [proxyA, proxyB] = proxies as [FaultyProxy, FaultyProxy];
    const created = await a.api<{ id: string; candidateUrl: string }>('POST', '/api/interviews', { durationSeconds: 600, candidateName: 'Finalizer Lost' });
    expect(created.status).toBe(201);
    const { id, candidateUrl } = created.body;
    proxyA.hold = (request) => finalUpload(request, id)?.partNumber === 1;

    const candidate = await browser!.newPage();
    const errors = pageErrors(candidate);
    await pressStart(candidate, candidateUrl);
    await waitForInterview(a, id, (state) => state.status === 'live', 'the interview to go live');
    const flowingAt = (await waitForMediaFlowing(a, 0)).time;
    await sleep(RECORD_MS);
    const endAt = Date.now();
    expect((await a.api('POST', `/api/interviews/${id}/end`, {})).status).toBe(200);

    // Node A is in the middle of the end's upload: part 1 of each file hangs, every other part is stored.
    const rows = () => postgres.query<StoredRow>('finalizer_lost', 'select kind, status, size_bytes, multipart_upload_id, multipart_parts from recording_files where interview_id = $1 order by kind', [id]);
    const atKill = await waitFor(
      async () => {
        const stored = await rows();
        const allButFirst = (row: StoredRow) => row.status === 'uploading' && row.multipart_parts.length === Math.ceil(Number(row.size_bytes) / PART_SIZE_BYTES) - 1;
        return proxyA.held.length >= 2 && stored.length === 2 && stored.every(allButFirst) ? stored : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'node A to store every part but part 1 of both files' },
    );
    const lostAt = Date.now();
    await a.kill();
    fs.rmSync(a.env.DATA_DIR, { recursive: true, force: true });
    for (const row of atKill) console.log(`${row.kind}.webm at the kill: ${row.size_bytes} bytes, parts ${row.multipart_parts.map((part) => part.partNumber).join(',')} stored by node A`);

    const claimedBy = async () => (await postgres.query<{ finalizing_node: string | null; status: string }>('finalizer_lost', 'select finalizing_node, status from interviews where id = $1', [id]))[0]!;
    await waitFor(async () => {
      const row = await claimedBy();
      return row.finalizing_node === 'node-b' || row.status === 'completed';
    }, { timeoutMs: FINALIZATION_CLAIM_TTL_MS + SWEEP_MS + 10_000, intervalMs: 100, what: 'node B to claim the finalization' });
    const takeoverMs = Date.now() - lostAt;
    const done = await waitForInterview(b, id, (state) => state.status === 'completed' || state.status === 'failed', 'the interview to be delivered', 60_000);
    const deliveredMs = Date.now() - lostAt;
    expect(done.status, done.failureReason ?? '').toBe('completed');

    const uploadedByB = proxyB.forwarded.map((request) => finalUpload(request, id)).filter((part) => part !== undefined);
    const storedByA = new Set(atKill.flatMap((row) => row.multipart_parts.map((part) => `${row.kind}/${part.partNumber}`)));
    const twice = uploadedByB.filter((part) => storedByA.has(`${part.kind}/${part.partNumber}`));
    const totalBytes = atKill.reduce((sum, row) => sum + Number(row.size_bytes), 0);
    const reuploadedBytes = uploadedByB.reduce((sum, part) => sum + part.bytes, 0);
    console.log(
      `finalizer lost: node B claimed the finalization ${takeoverMs} ms after the kill (claim TTL ${FINALIZATION_CLAIM_TTL_MS} ms + sweep ≤ ${SWEEP_MS} ms), completed ${deliveredMs} ms after it; ` +
        `node B uploaded ${uploadedByB.length} parts or objects (${reuploadedBytes} of ${totalBytes} bytes: ${uploadedByB.map((part) => `${part.kind}/${part.partNumber}`).join(', ')}); parts uploaded by both nodes: ${twice.length}`,
    );
    expect(takeoverMs).toBeLessThanOrEqual(FINALIZATION_CLAIM_TTL_MS + SWEEP_MS + 2000);
    // Resumed, not redone: node B sent only the parts node A had not stored (part 1 of each file),
    // no whole object.
    expect(twice).toEqual([]);
    expect(uploadedByB.map((part) => `${part.kind}/${part.partNumber}`).sort()).toEqual(['candidate/1', 'screen/1']);
    // The multipart uploads node A created are the ones completed: one CompleteMultipartUpload per file, from node B.
    expect(proxyA.forwarded.filter((request) => completesFinal(request, id))).toEqual([]);
    const completions = proxyB.forwarded.filter((request) => completesFinal(request, id));
    expect(completions.map((request) => request.url.searchParams.get('uploadId')).sort()).toEqual(atKill.map((row) => row.multipart_upload_id).sort());

    // Completed exactly once: one completed event, and the claim is gone.
    const events = await postgres.query<{ type: string }>('finalizer_lost', 'select type from webhook_events where interview_id = $1 order by created_at', [id]);
    expect(events.map((event) => event.type)).toEqual(['interview.live', 'interview.completed']);
    const completedHooks = await waitFor(() => {
      const received = webhooks.ofType('interview.completed').filter((hook) => hook.body?.data?.interviewId === id);
      return received.length > 0 ? received : undefined;
    }, { what: 'the completed webhook' });
    expect(new Set(completedHooks.map((hook) => hook.id)).size).toBe(1);
    expect(await claimedBy()).toEqual({ finalizing_node: null, status: 'completed' });

    // What the service stored as the recording's span: live (first media in the recording) to the end.
    const expected = (Date.parse(done.completedAt!) - Date.parse(done.startedAt!)) / 1000;
    console.log(`recorded span ${expected.toFixed(2)} s (the test saw media flowing ${((endAt - flowingAt) / 1000).toFixed(2)} s before its end request)`);
    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      expect(fs.statSync(file).size).toBe(Number(atKill.find((row) => row.kind === kind)!.size_bytes));
      const media = await recordedMedia(file);
      console.log(`${kind}.webm: ${media.durationSeconds} s of ${expected.toFixed(2)} s recorded`);
      expect(Math.abs(media.durationSeconds! - expected)).toBeLessThan(1.5);
      expect(await hasCues(file)).toBe(true);
      expect(await decodeErrors(file, 'v:0')).toEqual([]);
      expect(await decodeErrors(file, 'a:0')).toEqual([]);
    }
    expect(errors.filter((error) => !/WebSocket|ERR_CONNECTION_REFUSED|net::/.test(error))).toEqual([]);
    console.log(`finalizer lost test: ${((Date.now() - testStartedAt) / 1000).toFixed(1)} s`);
  }, 180_000);
});
