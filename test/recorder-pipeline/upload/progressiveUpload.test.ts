import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveUpload, type MultipartState } from '../../../recorder-pipeline/progressive/ProgressiveUpload.ts';
import { EmbeddedS3Server } from '../../../server/storage/EmbeddedS3Server.ts';
import { tempDir, waitFor } from '../../support/testConfig.ts';
import { embeddedS3Client } from '../../support/embeddedS3Client.ts';

const MiB = 1024 * 1024;

describe('ProgressiveUpload', () => {
  let s3: EmbeddedS3Server;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await EmbeddedS3Server.start({ directory: tempDir(), bucket: 'interviews' });
    client = embeddedS3Client(s3.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  async function stored(key: string): Promise<Buffer> {
    const object = await client.send(new GetObjectCommand({ Bucket: 'interviews', Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  function upload(file: string, key: string, persisted: MultipartState[], state?: MultipartState) {
    return ProgressiveUpload.begin({
      destination: { client, bucket: 'interviews', partSizeBytes: MiB },
      key,
      contentType: 'video/webm',
      file,
      retryWindowMs: 2000,
      state,
      pollIntervalMs: 50,
      persist: async (next) => {
        persisted.push(next);
      },
    });
  }

  it('uploads parts 2..n while the file grows, then part 1 and the tail, and stores the final bytes', async () => {
    const file = path.join(tempDir(), 'growing.webm');
    const content = randomBytes(5 * MiB + 4321);
    fs.writeFileSync(file, content.subarray(0, 100));
    const persisted: MultipartState[] = [];
    const progressive = await upload(file, 'interviews/grow/screen.webm', persisted);
    progressive.follow();
    // The file grows; its first bytes are rewritten at the end, as the remuxer does.
    for (let written = 100; written < content.length; written += 256 * 1024) {
      fs.appendFileSync(file, content.subarray(written, Math.min(content.length, written + 256 * 1024)));
    }
    await waitFor(() => progressive.state.parts.length >= 4, { timeoutMs: 10_000, what: 'parts 2..5 stored while the file grows' });
    const beforeEnd = progressive.state.parts.map((part) => part.partNumber);
    expect(beforeEnd).toEqual([2, 3, 4, 5]);
    const fd = fs.openSync(file, 'r+');
    content.write('rewritten header', 10);
    fs.writeSync(fd, content, 10, 16, 10);
    fs.closeSync(fd);

    const { sizeBytes } = await progressive.complete();
    expect(sizeBytes).toBe(content.length);
    expect((await stored('interviews/grow/screen.webm')).equals(content)).toBe(true);
    const final = persisted.at(-1)!;
    expect(final.parts.map((part) => part.partNumber)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(final.parts.slice(0, -1).every((part) => part.sizeBytes === MiB)).toBe(true);
    expect(final.parts.at(-1)!.sizeBytes).toBe(4321);
  });

  it('resumes from the persisted state after a restart, uploading only what is missing', async () => {
    const file = path.join(tempDir(), 'resume.webm');
    const content = randomBytes(3 * MiB + 99);
    fs.writeFileSync(file, content);
    const persisted: MultipartState[] = [];
    const first = await upload(file, 'interviews/resume/screen.webm', persisted);
    first.follow();
    await waitFor(() => first.state.parts.length >= 2, { timeoutMs: 10_000, what: 'parts 2 and 3 stored' });
    await first.stop();
    // "Restart": a new uploader from what the database held.
    const state = persisted.at(-1)!;
    const before = persisted.length;
    const second = await upload(file, 'interviews/resume/screen.webm', persisted, state);
    await second.complete();
    expect((await stored('interviews/resume/screen.webm')).equals(content)).toBe(true);
    // Only part 1 and the tail were sent again.
    expect(persisted.length - before).toBe(2);
    expect(persisted.at(-1)!.parts.map((part) => part.partNumber)).toEqual([1, 2, 3, 4]);
    expect(persisted.at(-1)!.parts.find((part) => part.partNumber === 2)!.etag).toBe(state.parts.find((part) => part.partNumber === 2)!.etag);
  });

  it('resumed on a file made again, keeps the stored parts whose bytes it holds and sends the others again', async () => {
    const file = path.join(tempDir(), 'rebuilt.webm');
    const content = randomBytes(4 * MiB + 77);
    fs.writeFileSync(file, content);
    const persisted: MultipartState[] = [];
    const first = await upload(file, 'interviews/rebuilt/screen.webm', persisted);
    first.follow();
    await waitFor(() => first.state.parts.length >= 3, { timeoutMs: 10_000, what: 'parts 2..4 stored' });
    await first.stop();
    const state = persisted.at(-1)!;
    // Another node's copy of the file: the same bytes but for a few in part 3.
    const fd = fs.openSync(file, 'r+');
    content.write('differs', 2 * MiB + 100);
    fs.writeSync(fd, content, 2 * MiB + 100, 7, 2 * MiB + 100);
    fs.closeSync(fd);
    const second = await upload(file, 'interviews/rebuilt/screen.webm', persisted, state);
    expect(await second.keepMatchingParts()).toEqual({ kept: 2, dropped: 1 });
    await second.complete();
    expect((await stored('interviews/rebuilt/screen.webm')).equals(content)).toBe(true);
    // Parts 2 and 4 are the ones the first upload stored; 1, 3 and the tail were sent now.
    const final = persisted.at(-1)!.parts;
    expect(final.map((part) => part.partNumber)).toEqual([1, 2, 3, 4, 5]);
    for (const partNumber of [2, 4]) expect(final.find((part) => part.partNumber === partNumber)!.etag).toBe(state.parts.find((part) => part.partNumber === partNumber)!.etag);
  });

  it('refuses to complete when a part uploaded early has changed since', async () => {
    const file = path.join(tempDir(), 'changed.webm');
    const content = randomBytes(3 * MiB + 10);
    fs.writeFileSync(file, content);
    const progressive = await upload(file, 'interviews/changed/screen.webm', []);
    progressive.follow();
    await waitFor(() => progressive.state.parts.length >= 2, { timeoutMs: 10_000, what: 'parts stored' });
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('changed'), 0, 7, MiB + 5);
    fs.closeSync(fd);
    await expect(progressive.complete()).rejects.toThrow(/part 2 .* changed/);
  });
});
