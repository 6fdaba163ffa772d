// A progressive upload interrupted between parts and resumed by the next service: the first
// service's object store hangs while it sends the last parts of an ended interview (part 1, the
// tail, Complete); a second service on the same DATA_DIR and database takes over, as after a crash
// (the first one is left hung, never shut down, so nothing of its own clean-up runs before the
// takeover; its store stays hung, so nothing it might still send can reach the store). The second
// service reaches the store through a pass-through proxy of its own, which counts its requests: not
// one of the parts stored before is sent again.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { trackNames } from '../../recorder-pipeline/tracks.ts';
import { RecordingFile } from '../../server/db/RecordingFile.ts';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { FaultyProxy, type ForwardedRequest } from '../support/faultyProxy.ts';
import { hasCues, probeFile } from '../support/ffprobe.ts';
import { download, waitForStatus } from '../support/recordedInterview.ts';
import { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const MiB = 1024 * 1024;

/** UploadPart and CompleteMultipartUpload: every request of a multipart upload in progress. */
const isUploadStep = (request: ForwardedRequest) => request.url.searchParams.has('uploadId') && (request.method === 'PUT' || request.method === 'POST');
const partOf = (request: ForwardedRequest) => (request.method === 'PUT' && request.url.searchParams.has('uploadId') ? Number(request.url.searchParams.get('partNumber')) : undefined);

describe('a progressive upload cut between parts', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('is resumed by the next service without sending again the parts already stored', async () => {
    const storeDir = tempDir('resume-s3-');
    const s3 = await EmbeddedS3Server.start({ directory: storeDir, bucket: 'interviews' });
    const proxy = await FaultyProxy.start(s3.endpoint, { failFirst: 0 });
    const secondProxy = await FaultyProxy.start(s3.endpoint, { failFirst: 0 });
    const env = {
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
      S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
    };
    // 1 MiB parts (s3rver accepts them; R2 needs ≥ 5 MiB) so a short recording spans several.
    const configure = { configure: (config: { s3: { partSizeBytes: number } }) => (config.s3.partSizeBytes = MiB) };
    const first: TestService = await startTestService({ ...env, S3_ENDPOINT: proxy.url }, configure);
    const dataDir = first.dataDir;
    // Undone in reverse: the second service, the first (shut down without waiting for its hung
    // upload), the proxies, the store and the shared DATA_DIR.
    cleanups.push(
      async () => fs.rmSync(storeDir, { recursive: true, force: true }),
      async () => fs.rmSync(dataDir, { recursive: true, force: true }),
      () => s3.close(),
      () => secondProxy.close(),
      () => proxy.close(),
      () => first.service.close(),
    );

    const interview = await first.createInterview({ durationSeconds: 120 });
    const room = await first.service.sessions.open(interview.id).openRoom();
    const publisher = await SyntheticPublisher.start({ router: room.router, srtp: true });
    cleanups.push(() => publisher.close());
    for (const track of trackNames) room.adoptProducer(track, publisher.producers[track]);
    await waitForStatus(first, interview.id, 'live', 20_000);
    const progressive = first.service.sessions.get(interview.id)!.progressive!;
    await waitFor(() => (progressive.stateOf('screen')?.parts.length ?? 0) >= 2 && (progressive.stateOf('candidate')?.parts.length ?? 0) >= 1, {
      timeoutMs: 40_000,
      intervalMs: 200,
      what: 'parts uploaded while recording',
    });

    // The store hangs from now on; the interview ends, and its last parts go nowhere.
    proxy.hold = isUploadStep;
    expect((await first.api('POST', `/api/interviews/${interview.id}/end`, {})).status).toBe(200);
    const rowsOf = () => first.service.database.em().find(RecordingFile, { interviewId: interview.id });
    await waitFor(async () => (await rowsOf()).every((row) => row.status === 'uploading') && proxy.held.length >= 2, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'both files uploading their last parts into the hung store',
    });
    await publisher.close();
    const storedBefore = new Map((await rowsOf()).map((row) => [row.kind, row.multipartParts.map((part) => part.partNumber)]));
    console.log(`stored before the hang: ${JSON.stringify(Object.fromEntries(storedBefore))}; held ${proxy.held.length} requests`);
    expect(storedBefore.get('screen')!.length).toBeGreaterThanOrEqual(2);

    // The next service, on the same DATA_DIR and database, with a store that answers.
    const second = await startTestService({ ...env, S3_ENDPOINT: secondProxy.url, DATA_DIR: dataDir }, configure);
    cleanups.push(() => second.close({ keepDataDir: true }));
    const done = await waitForStatus(second, interview.id, ['completed', 'failed'], 60_000);
    expect(done).toMatchObject({ status: 'completed', failureReason: null });

    const rows = await second.service.database.em().find(RecordingFile, { interviewId: interview.id });
    const after = secondProxy.forwarded;
    for (const row of rows) {
      const key = `/${row.kind}.webm`;
      const resent = after.filter((request) => request.url.pathname.endsWith(key)).map(partOf).filter((part): part is number => part !== undefined);
      console.log(`${row.kind}: parts sent after the restart ${JSON.stringify(resent)}; ${row.multipartParts.length} parts in all`);
      // Only the parts that never reached the store, each once; none of those stored before.
      for (const part of storedBefore.get(row.kind)!) expect(resent).not.toContain(part);
      expect(new Set(resent).size).toBe(resent.length);
      expect(resent).toContain(1);
      expect(row.multipartParts.map((part) => part.partNumber)).toEqual(Array.from({ length: Math.ceil(row.sizeBytes / MiB) }, (_, i) => i + 1));
    }
    for (const url of [done.screenVideo, done.candidateVideo]) {
      const file = await download(url, second.adminToken);
      const row = rows.find((candidate) => url.endsWith(`/${candidate.kind}.webm`))!;
      expect(fs.statSync(file).size).toBe(row.sizeBytes);
      expect((await probeFile(file)).video?.codecName).toBe('vp9');
      expect(await hasCues(file)).toBe(true);
    }
  });
});
