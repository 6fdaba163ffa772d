// Fault: the machine is lost mid-interview — its whole process group SIGKILLed *and its DATA_DIR
// deleted* — and the service starts again on an empty DATA_DIR, with the same PostgreSQL and object
// store (what a replaced VM or a rescheduled pod looks like). With RECORDING_JOURNAL_SECONDS the
// recording was shipped to the object store while it was written: the new start restores the
// killed segment from that journal, the candidate page (real Chromium) reconnects and republishes
// by itself, and both final files hold what was recorded before the loss (but for the last
// shipment) and after it.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { s3ClientConfig } from '../../server/storage/ObjectStore.ts';
import { type TestBrowser } from '../support/browser.ts';
import { downloadTo, logServiceOnFailure, recordedMedia, startLiveInterview, waitForInterview, waitForMediaFlowing, type InterviewState } from '../support/faults.ts';
import { hasCues } from '../support/ffprobe.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir } from '../support/testConfig.ts';

/** Recording time before the loss and after the restart (the sleeps are this recording time). */
const RECORD_MS = 8000;
const JOURNAL_SECONDS = 2;

describe('when the machine is lost mid-interview (process group killed, DATA_DIR deleted)', () => {
  let postgres: PostgresServer;
  let s3: EmbeddedS3Server;
  let env: ServiceEnv;
  let service: ServiceProcess | undefined;
  let browser: TestBrowser;
  let interview: { id: string };
  let live: InterviewState;
  let flowingAt = 0;
  const s3Dir = tempDir('disk-lost-s3-');
  const downloads = tempDir('disk-lost-downloads-');
  logServiceOnFailure(() => service);

  beforeAll(async () => {
    postgres = await startPostgres();
    s3 = await EmbeddedS3Server.start({ directory: s3Dir, bucket: 'interviews' });
    env = await serviceEnv({
      DATABASE_URL: await postgres.createDatabase('disk_lost'),
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
      S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
      RECORDING_JOURNAL_SECONDS: String(JOURNAL_SECONDS),
    });
    ({ service, browser, interview, live, mediaFlowingAt: flowingAt } = await startLiveInterview(env, 60));
  });

  afterAll(async () => {
    await browser?.close();
    await service?.kill();
    await s3?.close();
    await postgres?.stop();
    for (const dir of [env?.DATA_DIR, s3Dir, downloads]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('restores the recording from the object store and records on: both files hold both stretches, the loss a gap', async () => {
    const journal = new S3Client(s3ClientConfig({ endpoint: s3.endpoint, region: 'auto', bucket: 'interviews', accessKeyId: EmbeddedS3Server.accessKeyId, secretAccessKey: EmbeddedS3Server.secretAccessKey, publicBaseUrl: undefined }));
    const journalObjects = async () => (await journal.send(new ListObjectsV2Command({ Bucket: 'interviews', Prefix: `journal/${interview.id}/` }))).Contents ?? [];

    await sleep(RECORD_MS);
    const lostAt = Date.now();
    await service!.kill();
    const beforeLoss = (lostAt - flowingAt) / 1000;
    const shipped = await journalObjects();
    const shippedBytes = shipped.reduce((sum, object) => sum + (object.Size ?? 0), 0);
    console.log(
      `journal after ${beforeLoss.toFixed(2)} s: ${shipped.length} objects, ${(shippedBytes / 1048576).toFixed(2)} MiB → per interview-hour ` +
        `${Math.round((shipped.length * 3600) / beforeLoss)} PUTs, ${((shippedBytes * 3600) / beforeLoss / 1073741824).toFixed(2)} GiB`,
    );
    expect(shipped.length).toBeGreaterThan(2);
    // Everything this machine had is gone, but the links' keys (see below).
    const secrets = fs.readFileSync(path.join(env.DATA_DIR, 'secrets.json'));
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
    // The candidate's page holds a link signed by this deployment's keys: a new machine of the
    // same deployment has them (here copied; in cluster mode they are shared through the database).
    fs.mkdirSync(env.DATA_DIR, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(env.DATA_DIR, 'secrets.json'), secrets, { mode: 0o600 });

    service = await ServiceProcess.start(env);
    const resumed = await waitForMediaFlowing(service, lostAt, 60_000);
    const outage = (resumed.time - lostAt) / 1000;
    console.log(`disk lost: media back ${outage.toFixed(2)} s after the loss, in segment ${resumed.index}`);
    expect(resumed.index).toBeGreaterThan(0);
    await sleep(RECORD_MS);
    const endAt = Date.now();
    const ended = await service.api('POST', `/api/interviews/${interview.id}/end`, {});
    expect(ended.status).toBe(200);
    const done = await waitForInterview(service, interview.id, (state) => state.status === 'completed' || state.status === 'failed', 'the interview to be delivered', 90_000);
    expect(done.status).toBe('completed');
    expect(done.startedAt).toBe(live.startedAt);
    const afterLoss = (endAt - resumed.time) / 1000;

    // The loss is one gap, from the journal's last shipment to the media's return.
    expect(done.gaps).toHaveLength(1);
    expect(done.gaps[0]!.cause).toBe('service restarted');
    const gapStart = Date.parse(done.gaps[0]!.start);
    expect(gapStart).toBeGreaterThan(lostAt - (JOURNAL_SECONDS + 1) * 1000);
    expect(gapStart).toBeLessThanOrEqual(lostAt);

    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      const media = await recordedMedia(file);
      const lost = beforeLoss + afterLoss - media.durationSeconds!;
      console.log(`${kind}.webm: ${media.durationSeconds} s of ${beforeLoss.toFixed(2)} s before the loss + ${afterLoss.toFixed(2)} s after (${lost.toFixed(2)} s lost besides the outage)`);
      // Without the journal only the stretch after the loss would be there (a test without it failed here).
      expect(media.durationSeconds!).toBeGreaterThan(afterLoss + beforeLoss - (JOURNAL_SECONDS + 1.5));
      expect(media.durationSeconds!).toBeLessThan(afterLoss + beforeLoss + 1);
      expect(Math.abs(media.video.last - media.audio.last)).toBeLessThan(0.5);
      expect(await hasCues(file)).toBe(true);
    }
    // Delivered: the journal is gone from the object store.
    expect(await journalObjects()).toEqual([]);
    journal.destroy();
  });
});
