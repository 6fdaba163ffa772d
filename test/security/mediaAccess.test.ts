import { PutObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaSignatures } from '../../server/auth/MediaSignatures.ts';
import { Interview } from '../../server/db/Interview.ts';
import { RecordingFile, RecordingFileStatus, recordingObjectKey } from '../../server/db/RecordingFile.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';
import { rawRequest } from './rawClients.ts';

const CONTENT = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

describe('recordings are served only to someone entitled to them', () => {
  let ts: TestService;
  let interview: CreatedInterview;
  let other: CreatedInterview;
  let storedUrl: string;
  let signatures: MediaSignatures;
  const key = () => recordingObjectKey(interview.id, 'screen');

  beforeAll(async () => {
    ts = await startTestService();
    [interview, other] = await Promise.all([ts.createInterview(), ts.createInterview()]);
    // A stored recording, as the finalizer leaves it: the object in the bucket, its stable URL on the interview.
    const { objectStore } = ts.service;
    await objectStore.client.send(new PutObjectCommand({ Bucket: objectStore.bucket, Key: key(), Body: CONTENT, ContentType: 'video/webm' }));
    storedUrl = objectStore.publicUrlFor(key(), ts.url);
    const em = ts.service.database.em();
    const row = await em.findOneOrFail(Interview, { id: interview.id });
    row.screenVideo = storedUrl;
    await em.flush();
    signatures = new MediaSignatures(JSON.parse(fs.readFileSync(path.join(ts.dataDir, 'secrets.json'), 'utf8')).mediaUrlKey);
  });

  afterAll(async () => {
    await ts?.close();
  });

  const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

  it('refuses the stored URL alone (the id is in every link): 401', async () => {
    // Before: 200 to anyone with the id.
    const response = await get(storedUrl);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('refuses a wrong, altered, expired or other-object signature: 403', async () => {
    const valid = signatures.sign(key(), 3600).query;
    const expired = signatures.sign(key(), 60, Date.now() - 3_600_000).query;
    const forOther = signatures.sign(recordingObjectKey(other.id, 'screen'), 3600).query;
    const longer = valid.replace(/expires=(\d+)/, (_, e) => `expires=${Number(e) + 86_400}`);
    for (const query of [expired, forOther, longer, 'expires=9999999999&signature=AAAA', 'signature=x', 'expires=1']) {
      const response = await get(`${storedUrl}?${query}`);
      expect({ query, status: response.status }).toEqual({ query, status: 403 });
    }
    expect((await get(`${storedUrl}?${valid}`)).status).toBe(200);
  });

  it('refuses a role token of another interview (403) and a wrong admin token (401)', async () => {
    expect((await get(storedUrl, { authorization: `Bearer ${other.proctorToken}` })).status).toBe(403);
    expect((await get(storedUrl, { authorization: 'Bearer not-the-admin-token' })).status).toBe(401);
  });

  it('serves the admin, a role token of this interview, and the signed URL the pages get', async () => {
    for (const authorization of [`Bearer ${ts.adminToken}`, `Bearer ${interview.candidateToken}`, `Bearer ${interview.proctorToken}`]) {
      const response = await get(storedUrl, { authorization });
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(CONTENT)).toBe(true);
    }
    const status = await (await get(`${ts.url}/session/${interview.id}/recording`, { authorization: `Bearer ${interview.candidateToken}` })).json();
    expect(status.screenVideo).toMatch(new RegExp(`^${storedUrl.replace(/[.?]/g, '\\$&')}\\?expires=\\d+&signature=[\\w-]{43}$`));
    const expiresAt = Date.parse(status.urlsExpireAt);
    expect(expiresAt - Date.now()).toBeGreaterThan(3_590_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3_600_000);
    const signed = await get(status.screenVideo);
    expect(signed.status).toBe(200);
    expect(Buffer.from(await signed.arrayBuffer()).equals(CONTENT)).toBe(true);
    // The stored URL itself never changes.
    const { body } = await ts.api<{ screenVideo: string; playback: { screenVideo: string } }>('GET', `/api/interviews/${interview.id}`);
    expect(body.screenVideo).toBe(storedUrl);
    expect(body.playback.screenVideo).toMatch(/\?expires=\d+&signature=/);
  });

  it('parses Range strictly: a-b, a- and -n are served, -0 is 416, anything malformed is ignored (whole file)', async () => {
    const auth = { authorization: `Bearer ${ts.adminToken}` };
    const cases: Array<[string, number, Buffer | null]> = [
      ['bytes=100-199', 206, CONTENT.subarray(100, 200)],
      ['bytes=990-', 206, CONTENT.subarray(990)],
      ['bytes=-10', 206, CONTENT.subarray(990)],
      ['bytes=-5000', 206, CONTENT],
      ['bytes=900-5000', 206, CONTENT.subarray(900)],
      ['bytes=-0', 416, null],
      ['bytes=1000-', 416, null],
      ['bytes=-', 200, CONTENT],
      ['bytes=5-2', 200, CONTENT],
      ['bytes=a-b', 200, CONTENT],
      ['bytes=0-1,5-6', 200, CONTENT],
      ['items=0-10', 200, CONTENT],
    ];
    for (const [range, status, expected] of cases) {
      const response = await get(storedUrl, { ...auth, range });
      expect({ range, status: response.status }).toEqual({ range, status });
      const body = Buffer.from(await response.arrayBuffer());
      if (expected) expect({ range, same: body.equals(expected) }).toEqual({ range, same: true });
      if (status === 206) expect(response.headers.get('content-range')).toMatch(/^bytes \d+-\d+\/1000$/);
      if (status === 416) expect(response.headers.get('content-range')).toBe('bytes */1000');
    }
  });

  it('serves a Range with one object-store call when the size of the recording is stored (the finalizer stores it)', async () => {
    const { objectStore, database } = ts.service;
    const candidateKey = recordingObjectKey(interview.id, 'candidate');
    await objectStore.client.send(new PutObjectCommand({ Bucket: objectStore.bucket, Key: candidateKey, Body: CONTENT, ContentType: 'video/webm' }));
    const file = Object.assign(new RecordingFile(interview.id, 'candidate'), { status: RecordingFileStatus.Uploaded, sizeBytes: CONTENT.length, uploadedBytes: CONTENT.length });
    await database.em().persistAndFlush(file);
    const url = objectStore.publicUrlFor(candidateKey, ts.url);
    const auth = { authorization: `Bearer ${ts.adminToken}` };
    // Every request the service sends to the object store, by command.
    const calls: string[] = [];
    objectStore.client.middlewareStack.add((next, context) => (args) => (calls.push(String(context.commandName)), next(args)), { step: 'initialize', name: 'countCalls' });
    try {
      const cases: Array<[string, number, Buffer | null, string[]]> = [
        ['bytes=100-199', 206, CONTENT.subarray(100, 200), ['GetObjectCommand']],
        ['bytes=-10', 206, CONTENT.subarray(990), ['GetObjectCommand']],
        ['bytes=1000-', 416, null, []],
      ];
      for (const [range, status, expected, expectedCalls] of cases) {
        calls.length = 0;
        const response = await get(url, { ...auth, range });
        const body = Buffer.from(await response.arrayBuffer());
        expect({ range, status: response.status, calls }).toEqual({ range, status, calls: expectedCalls });
        if (expected) expect({ range, same: body.equals(expected) }).toEqual({ range, same: true });
      }
    } finally {
      objectStore.client.middlewareStack.remove('countCalls');
    }
  });

  it('answers a validly signed role token whose payload is not claims with 401, not 500', async () => {
    const { createHmac } = await import('node:crypto');
    const key = JSON.parse(fs.readFileSync(path.join(ts.dataDir, 'secrets.json'), 'utf8')).roleTokenKey;
    for (const claims of ['null', '42', '"text"', '[]', '{"interviewId":null}', `{"interviewId":"${interview.id}","role":"proctor","exp":"never"}`]) {
      const payload = Buffer.from(claims).toString('base64url');
      const token = `${payload}.${createHmac('sha256', Buffer.from(key)).update(payload).digest('base64url')}`;
      const response = await get(`${ts.url}/session/${interview.id}/recording`, { authorization: `Bearer ${token}` });
      expect({ claims, status: response.status }).toEqual({ claims, status: 401 });
      expect((await get(storedUrl, { authorization: `Bearer ${token}` })).status).toBe(401);
    }
  });

  it('refuses control characters in text fields, naming the field (400), and stores nothing', async () => {
    const port = Number(new URL(ts.url).port);
    const auth = { Authorization: `Bearer ${ts.adminToken}` };
    const before = (await ts.api<unknown[]>('GET', '/api/interviews')).body.length;
    for (const name of ['Ada\u0000Lovelace', 'Ada\nLovelace', 'Ada\u001b[31m', 'Ada\u202eecalevoL']) {
      const response = await rawRequest(port, 'POST', '/api/interviews', auth, JSON.stringify({ durationSeconds: 60, candidateName: name }));
      expect({ name, status: response.status }).toEqual({ name, status: 400 });
      expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_input', field: 'candidateName' });
    }
    expect((await ts.api<unknown[]>('GET', '/api/interviews')).body.length).toBe(before);
    const notes = await rawRequest(port, 'POST', `/api/interviews/${other.id}/end`, auth, JSON.stringify({ notes: 'good\u0000' }));
    expect(notes.status).toBe(400);
    expect(JSON.parse(notes.body)).toMatchObject({ error: 'invalid_input', field: 'notes' });
    expect((await ts.api<{ status: string }>('GET', `/api/interviews/${other.id}`)).body.status).toBe('created');
    // Line breaks and tabs are fine in notes.
    const ok = await ts.api<{ notes: string }>('POST', `/api/interviews/${other.id}/end`, { notes: 'line one\n\tline two' });
    expect(ok).toMatchObject({ status: 200, body: { notes: 'line one\n\tline two' } });
  });
});

describe('with a public bucket (S3_PUBLIC_BASE_URL) and S3_PRESIGNED_URLS', () => {
  let ts: TestService;
  afterAll(async () => {
    await ts?.close();
  });

  it('stores the public URL and hands pages a presigned object-store URL that expires', async () => {
    ts = await startTestService({ S3_PUBLIC_BASE_URL: 'https://media.example.com', S3_PRESIGNED_URLS: 'true', MEDIA_URL_TTL_SECONDS: '600' });
    const interview = await ts.createInterview();
    const key = recordingObjectKey(interview.id, 'screen');
    const { objectStore } = ts.service;
    await objectStore.client.send(new PutObjectCommand({ Bucket: objectStore.bucket, Key: key, Body: CONTENT, ContentType: 'video/webm' }));
    const em = ts.service.database.em();
    const row = await em.findOneOrFail(Interview, { id: interview.id });
    row.screenVideo = objectStore.publicUrlFor(key, ts.url);
    await em.flush();

    const { body } = await ts.api<{ screenVideo: string; playback: { screenVideo: string; expiresAt: string } }>('GET', `/api/interviews/${interview.id}`);
    expect(body.screenVideo).toBe(`https://media.example.com/${key}`);
    const presigned = new URL(body.playback.screenVideo);
    expect(presigned.origin).toBe(new URL(objectStore.settings.endpoint).origin);
    expect(presigned.searchParams.get('X-Amz-Expires')).toBe('600');
    expect(presigned.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(body.playback.expiresAt) - Date.now()).toBeGreaterThan(590_000);
    // The pages may play from there (Content-Security-Policy media-src).
    const page = await fetch(`${ts.url}/review/${interview.id}`);
    expect(page.headers.get('content-security-policy')).toContain(`media-src 'self' blob: mediastream: ${presigned.origin}`);
    const fetched = await fetch(body.playback.screenVideo);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(CONTENT)).toBe(true);
  });
});
