import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listSegments, segmentFile } from '../../recorder-pipeline/segments.ts';
import { trackNames } from '../../recorder-pipeline/tracks.ts';
import { RecordingFile } from '../../server/db/RecordingFile.ts';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { segmentSpanSeconds } from '../support/faults.ts';
import { FaultyProxy } from '../support/faultyProxy.ts';
import { hasCues, probeFile } from '../support/ffprobe.ts';
import { download, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const MiB = 1024 * 1024;

/** Publishes the synthetic candidate into the interview's room over SRTP, as a deployment would. */
async function publishSrtp(t: TestService, interviewId: string): Promise<SyntheticPublisher> {
  const room = await t.service.sessions.open(interviewId).openRoom();
  const publisher = await SyntheticPublisher.start({ router: room.router, srtp: true });
  for (const track of trackNames) room.adoptProducer(track, publisher.producers[track]);
  return publisher;
}

async function fileRows(t: TestService, interviewId: string): Promise<RecordingFile[]> {
  return (await t.service.database.em().find(RecordingFile, { interviewId })).sort((a, b) => a.kind.localeCompare(b.kind));
}

describe('progressive upload of an interview recording', () => {
  let t: TestService | undefined;
  let publisher: SyntheticPublisher | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await publisher?.close();
    await t?.close();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    publisher = undefined;
    t = undefined;
  });

  it('uploads equal parts while recording, leaves only part 1 and the tail for the end, and stores the final file byte for byte', async () => {
    // 1 MiB parts (s3rver accepts them; R2 needs ≥ 5 MiB) so a short test spans several parts.
    // The store behind a pass-through proxy that sees every request, to count the UploadParts sent.
    const storeDir = tempDir('progressive-s3-');
    const s3 = await EmbeddedS3Server.start({ directory: storeDir, bucket: 'interviews' });
    const proxy = await FaultyProxy.start(s3.endpoint, { failFirst: 0 });
    cleanups.push(async () => fs.rmSync(storeDir, { recursive: true, force: true }), () => s3.close(), () => proxy.close());
    t = await startTestService(
      {
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        S3_ENDPOINT: proxy.url,
        S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
        S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
      },
      { configure: (config) => (config.s3.partSizeBytes = MiB) },
    );
    const interview = await t.createInterview({ durationSeconds: 120 });
    publisher = await publishSrtp(t, interview.id);
    await waitForStatus(t, interview.id, 'live', 20_000);
    const progressive = t.service.sessions.get(interview.id)!.progressive!;
    await waitFor(() => (progressive.stateOf('screen')?.parts.length ?? 0) >= 3 && (progressive.stateOf('candidate')?.parts.length ?? 0) >= 1, {
      timeoutMs: 40_000,
      intervalMs: 200,
      what: 'parts uploaded while recording',
    });
    const beforeEnd = { screen: progressive.stateOf('screen')!.parts, candidate: progressive.stateOf('candidate')!.parts };
    expect(beforeEnd.screen.every((part) => part.partNumber >= 2 && part.sizeBytes === MiB)).toBe(true);

    // The local final files are deleted once stored: keep a copy the moment each one is stored.
    const localCopies = new Map<string, string>();
    const copies = tempDir('progressive-final-');
    cleanups.push(async () => fs.rmSync(copies, { recursive: true, force: true }));
    t.service.sessions.on('progress', (id, files) => {
      for (const file of files) {
        if (id !== interview.id || file.status !== 'uploaded' || localCopies.has(file.kind)) continue;
        const copy = path.join(copies, `${file.kind}.webm`);
        fs.copyFileSync(path.join(t!.service.sessions.recordingDirOf(id), `${file.kind}.webm`), copy);
        localCopies.set(file.kind, copy);
      }
    });
    const endedAt = Date.now();
    expect((await t.api('POST', `/api/interviews/${interview.id}/end`, {})).status).toBe(200);
    const done = await waitForStatus(t, interview.id, 'completed', 30_000);
    const endToUrlsMs = Date.now() - endedAt;
    console.log(`end → URLs with progressive upload: ${endToUrlsMs} ms (polled every 200 ms)`);
    expect(endToUrlsMs).toBeLessThan(5000);

    const rows = await fileRows(t, interview.id);
    for (const row of rows) {
      expect(row.status).toBe('uploaded');
      const parts = row.multipartParts;
      // R2's rules: every part but the last the same size, numbered 1..n without holes.
      expect(parts.map((part) => part.partNumber)).toEqual(Array.from({ length: Math.ceil(row.sizeBytes / MiB) }, (_, i) => i + 1));
      expect(parts.slice(0, -1).every((part) => part.sizeBytes === MiB)).toBe(true);
      expect(parts.reduce((sum, part) => sum + part.sizeBytes, 0)).toBe(row.sizeBytes);
      // Parts stored during the recording were not sent again at the end: counted on the wire
      // (an ETag is the part's MD5, so re-sent identical bytes would keep it).
      const sent = new Map<number, number>();
      for (const request of proxy.forwarded) {
        if (request.method !== 'PUT' || !request.url.searchParams.has('uploadId') || !request.url.pathname.endsWith(`/${row.kind}.webm`)) continue;
        const partNumber = Number(request.url.searchParams.get('partNumber'));
        sent.set(partNumber, (sent.get(partNumber) ?? 0) + 1);
      }
      console.log(`${row.kind}: UploadPart requests per part ${JSON.stringify(Object.fromEntries(sent))}; ${beforeEnd[row.kind].length} stored before the end`);
      for (const early of beforeEnd[row.kind]) {
        expect(parts.find((part) => part.partNumber === early.partNumber)?.etag).toBe(early.etag);
        expect(sent.get(early.partNumber)).toBe(1);
      }
      for (const part of parts) expect(sent.get(part.partNumber)).toBeGreaterThanOrEqual(1);
    }

    for (const [kind, url] of [['screen', done.screenVideo], ['candidate', done.candidateVideo]] as const) {
      const downloaded = await download(url);
      expect(fs.readFileSync(downloaded).equals(fs.readFileSync(localCopies.get(kind)!))).toBe(true);
      const probe = await probeFile(downloaded);
      expect(probe.video?.codecName).toBe('vp9');
      expect(probe.audio?.codecName).toBe('opus');
      expect(probe.durationSeconds).toBeGreaterThan(8);
      expect(await hasCues(downloaded)).toBe(true);
    }
    // Once the filmstrip is made from them.
    await t.service.sessions.idle();
    expect(fs.existsSync(t.service.sessions.recordingDirOf(interview.id))).toBe(false);
  });

  it('falls back to finalizing and uploading the segments when the recorder restarted mid-recording', async () => {
    t = await startTestService({ LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const interview = await t.createInterview({ durationSeconds: 120 });
    publisher = await publishSrtp(t, interview.id);
    await waitForStatus(t, interview.id, 'live', 20_000);
    await waitForRecordedBytes(t, interview.id, 2.5 * MiB);
    const recording = (await t.service.sessions.get(interview.id)?.recording)!;
    const failedStarts: string[] = [];
    recording.on('segmentFailed', ({ index, error }) => failedStarts.push(`segment ${index}: ${error.message}`));
    const killedAt = Date.now();
    process.kill(recording.ffmpegPid!, 'SIGKILL');
    // The next segment is not always segment-001: a start attempt that fails (a port taken by
    // another process between choosing it and ffmpeg binding it) is removed and the next index used.
    const recordingDir = t.service.sessions.recordingDirOf(interview.id);
    const laterSegmentRecords = async () => {
      const later = (await listSegments(recordingDir)).filter((segment) => segment.index > 0);
      return later.some((segment) => (fs.statSync(segmentFile(segment.dir, 'screen'), { throwIfNoEntry: false })?.size ?? 0) > 500_000);
    };
    await waitFor(laterSegmentRecords, { timeoutMs: 20_000, what: 'a later segment recording' }).catch(async (error: Error) => {
      const segments = await listSegments(recordingDir);
      const sizes = segments.map((segment) => `${path.basename(segment.dir)}: ${fs.statSync(segmentFile(segment.dir, 'screen'), { throwIfNoEntry: false })?.size ?? 'no'} bytes`);
      throw new Error(`${error.message}; segments ${sizes.join(', ')}; failed starts: ${failedStarts.join(' | ') || 'none'}`);
    });
    // The segments as the recording left them, copied the moment finalizing starts (they are
    // deleted once the files are stored): the final files must hold every one of them.
    const segmentCopies = tempDir('fallback-segments-');
    cleanups.push(async () => fs.rmSync(segmentCopies, { recursive: true, force: true }));
    const copied: Record<'screen' | 'candidate', string[]> = { screen: [], candidate: [] };
    let copiedSegments = false;
    t.service.sessions.on('progress', (id) => {
      if (id !== interview.id || copiedSegments) return;
      copiedSegments = true;
      for (const entry of fs.readdirSync(recordingDir).filter((name) => /^segment-\d+$/.test(name)).sort()) {
        for (const kind of ['screen', 'candidate'] as const) {
          const source = segmentFile(path.join(recordingDir, entry), kind);
          if (!fs.existsSync(source)) continue;
          const copy = path.join(segmentCopies, `${entry}-${kind}.webm`);
          fs.copyFileSync(source, copy);
          copied[kind].push(copy);
        }
      }
    });
    expect((await t.api('POST', `/api/interviews/${interview.id}/end`, {})).status).toBe(200);
    const done = await waitForStatus(t, interview.id, 'completed', 60_000);

    // The kill is one `recorder restarted` gap, starting at the kill and as long as the restart.
    const restarts = done.gaps.filter((gap) => gap.cause === 'recorder restarted');
    expect(restarts).toHaveLength(1);
    const gap = restarts[0]!;
    const gapMs = Date.parse(gap.end!) - Date.parse(gap.start);
    console.log(`recorder restarted gap: ${gapMs} ms, from ${Date.parse(gap.start) - killedAt} ms after the kill`);
    expect(Math.abs(Date.parse(gap.start) - killedAt)).toBeLessThan(1000);
    expect(gapMs).toBeGreaterThan(0);
    expect(gapMs).toBeLessThan(1000);

    expect(copied.screen.length).toBeGreaterThanOrEqual(2);
    for (const [kind, url] of [['screen', done.screenVideo], ['candidate', done.candidateVideo]] as const) {
      const downloaded = await download(url);
      const probe = await probeFile(downloaded);
      expect(probe.video?.codecName).toBe('vp9');
      expect(probe.audio?.codecName).toBe('opus');
      expect(await hasCues(downloaded)).toBe(true);
      // Every segment is in the final file: its duration is the sum of their spans (a dropped
      // segment would be seconds short), the outage between them cut out.
      const spans = await Promise.all(copied[kind].map((file) => segmentSpanSeconds(file)));
      const sum = spans.reduce((total, span) => total + span, 0);
      console.log(`${kind}.webm: ${probe.durationSeconds} s; segments ${spans.map((span) => span.toFixed(2)).join(' + ')} = ${sum.toFixed(2)} s`);
      expect(spans.every((span) => span > 1)).toBe(true);
      expect(Math.abs(probe.durationSeconds! - sum)).toBeLessThan(1);
    }
    // The abandoned multipart state is gone: the whole file went up in one lib-storage upload.
    for (const row of await fileRows(t, interview.id)) expect(row.multipartUploadId).toBeNull();
  });
});
