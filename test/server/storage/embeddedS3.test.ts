import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedS3Server } from '../../../server/storage/EmbeddedS3Server.ts';
import { ObjectStore } from '../../../server/storage/ObjectStore.ts';
import { tempDir } from '../../support/testConfig.ts';

describe('embedded S3 server', () => {
  let server: EmbeddedS3Server;
  let store: ObjectStore;

  beforeAll(async () => {
    server = await EmbeddedS3Server.start({ directory: tempDir(), bucket: 'interviews' });
    store = new ObjectStore({
      endpoint: server.endpoint,
      region: 'auto',
      bucket: 'interviews',
      accessKeyId: EmbeddedS3Server.accessKeyId,
      secretAccessKey: EmbeddedS3Server.secretAccessKey,
      publicBaseUrl: undefined,
    });
  });

  afterAll(async () => {
    store.close();
    await server.close();
  });

  it('round-trips an object byte for byte through the AWS SDK', async () => {
    const body = randomBytes(300_000);
    await store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'interviews/x/probe.bin', Body: body, ContentType: 'application/octet-stream' }));
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: 'interviews/x/probe.bin' }));
    expect(head.ContentLength).toBe(body.length);
    const got = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: 'interviews/x/probe.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('serves byte ranges, which the media route relies on for seeking', async () => {
    const body = Buffer.from('0123456789abcdef');
    await store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'range.bin', Body: body }));
    const got = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: 'range.bin', Range: 'bytes=4-7' }));
    expect(got.ContentRange).toBe('bytes 4-7/16');
    expect(await got.Body!.transformToString()).toBe('4567');
  });

  it('reports the bucket up, and down once the server stops', async () => {
    expect(await store.isUp()).toBe(true);
    const other = await EmbeddedS3Server.start({ directory: tempDir(), bucket: 'b2' });
    const otherStore = new ObjectStore({ ...store.settings, endpoint: other.endpoint, bucket: 'b2' });
    expect(await otherStore.isUp()).toBe(true);
    await other.close();
    expect(await otherStore.isUp()).toBe(false);
    otherStore.close();
  });

  it('builds public URLs from S3_PUBLIC_BASE_URL, or from the service when unset', () => {
    expect(store.publicUrlFor('interviews/a b/screen.webm', 'http://svc')).toBe('http://svc/media/interviews/a%20b/screen.webm');
    const publicStore = new ObjectStore({ ...store.settings, publicBaseUrl: 'https://media.example.com' });
    expect(publicStore.publicUrlFor('interviews/1/screen.webm', 'http://svc')).toBe('https://media.example.com/interviews/1/screen.webm');
    publicStore.close();
  });
});
