import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../../../recorder-pipeline/upload/uploadFile.ts';
import { EmbeddedS3Server } from '../../../server/storage/EmbeddedS3Server.ts';
import { embeddedS3Client } from '../../support/embeddedS3Client.ts';
import { FaultyProxy } from '../../support/faultyProxy.ts';
import { tempDir } from '../../support/testConfig.ts';

const MiB = 1024 * 1024;

const clientFor = embeddedS3Client;

async function download(client: S3Client, key: string): Promise<Buffer> {
  const object = await client.send(new GetObjectCommand({ Bucket: 'interviews', Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

describe('uploadFile', () => {
  let s3: EmbeddedS3Server;
  let file: string;
  let content: Buffer;

  beforeAll(async () => {
    s3 = await EmbeddedS3Server.start({ directory: tempDir(), bucket: 'interviews' });
    content = randomBytes(12 * MiB + 12345);
    file = path.join(tempDir(), 'screen.webm');
    fs.writeFileSync(file, content);
  });
  afterAll(() => s3?.close());

  it('uploads in equal 5 MiB parts and stores the file byte for byte', async () => {
    // Through a pass-through proxy, to see the size of every part as the store receives it.
    const proxy = await FaultyProxy.start(s3.endpoint, { failFirst: 0 });
    const client = clientFor(proxy.url);
    const progress: number[] = [];
    try {
      const result = await uploadFile(
        { client, bucket: 'interviews', partSizeBytes: 5 * MiB },
        { file, key: 'interviews/a/screen.webm', contentType: 'video/webm', retryWindowMs: 0, onProgress: (uploaded) => progress.push(uploaded) },
      );
      expect(result.sizeBytes).toBe(content.length);
      expect((await download(client, 'interviews/a/screen.webm')).equals(content)).toBe(true);

      const partSizes = proxy.forwarded
        .filter((request) => request.method === 'PUT' && request.url.searchParams.has('partNumber'))
        .map((request) => [Number(request.url.searchParams.get('partNumber')), request.contentLength] as const)
        .sort(([a], [b]) => a - b);
      expect(partSizes).toEqual([
        [1, 5 * MiB],
        [2, 5 * MiB],
        [3, content.length - 10 * MiB],
      ]);
      // Parts finish in any order (two in flight), so only the growth and the end are fixed.
      expect(progress.length).toBeGreaterThanOrEqual(3);
      expect([...progress].sort((a, b) => a - b)).toEqual(progress);
      expect(progress.at(-1)).toBe(content.length);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  it('retries with backoff while the store refuses, then succeeds', async () => {
    const proxy = await FaultyProxy.start(s3.endpoint, { failFirst: 3 });
    const client = clientFor(proxy.url);
    const retries: number[] = [];
    try {
      await uploadFile(
        { client, bucket: 'interviews', partSizeBytes: 5 * MiB },
        { file, key: 'interviews/b/screen.webm', contentType: 'video/webm', retryWindowMs: 30_000, onRetry: (_error, attempt) => retries.push(attempt) },
      );
      expect(proxy.refused).toBe(3);
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect((await download(clientFor(s3.endpoint), 'interviews/b/screen.webm')).equals(content)).toBe(true);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  it('gives up after the retry window with the store still refusing', async () => {
    const proxy = await FaultyProxy.start(s3.endpoint, { failFirst: Number.POSITIVE_INFINITY });
    const client = clientFor(proxy.url);
    try {
      await expect(
        uploadFile({ client, bucket: 'interviews', partSizeBytes: 5 * MiB }, { file, key: 'interviews/c/screen.webm', contentType: 'video/webm', retryWindowMs: 1500 }),
      ).rejects.toThrow(/reduce your request rate|SlowDown|503/i);
      expect(proxy.refused).toBeGreaterThan(1);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  it('fails at once on a permanent error such as a missing bucket', async () => {
    const client = clientFor(s3.endpoint);
    const retries: number[] = [];
    await expect(
      uploadFile(
        { client, bucket: 'no-such-bucket', partSizeBytes: 5 * MiB },
        { file, key: 'x/screen.webm', contentType: 'video/webm', retryWindowMs: 60_000, onRetry: (_e, attempt) => retries.push(attempt) },
      ),
    ).rejects.toThrow(/bucket/i);
    expect(retries).toEqual([]);
    client.destroy();
  });
});
