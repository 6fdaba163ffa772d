// The backend contract a host app relies on (README, "The backend contract"): its own id on an
// interview (externalId: unique, an idempotent create, a filter), where the candidate goes after
// the end (returnUrl, only to allowed origins), its own small JSON (metadata), and a fresh
// candidate link when it lost the first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, request } from '../../signaling/signalingClient.ts';
import { startTestService, type TestService } from '../../support/testService.ts';

const HOST_APP = 'https://app.example.com';

interface Created {
  id: string;
  externalId: string | null;
  status: string;
  returnUrl: string | null;
  metadata: Record<string, unknown> | null;
  candidateUrl: string;
  proctorUrl: string;
}

interface ApiError {
  error: string;
  message: string;
  field?: string;
}

const tokenOf = (url: string) => new URLSearchParams(new URL(url).hash.slice(1)).get('token')!;

/** A JSON object nested `depth` levels deep (the object itself is the first). */
const nested = (depth: number): Record<string, unknown> => (depth <= 1 ? { leaf: true } : { inner: nested(depth - 1) });

describe('the backend contract of POST /api/interviews and friends', () => {
  let t: TestService;
  let sequence = 0;
  /** A fresh externalId per test, so tests do not meet each other's interviews. */
  const externalId = () => `ats:job-7/candidate-${++sequence}@example.com`;
  const create = (body: Record<string, unknown>) => t.api<Created & ApiError>('POST', '/api/interviews', body);

  beforeAll(async () => {
    t = await startTestService({ EMBED_ORIGINS: HOST_APP });
  });
  afterAll(() => t?.close());

  it('stores externalId, returnUrl and metadata and echoes them in the create answer, GET and the list', async () => {
    const id = externalId();
    const metadata = { jobId: 7, team: 'platform', tags: ['backend', { level: 'senior' }] };
    const body = { durationSeconds: 600, candidateName: 'Ada', externalId: id, returnUrl: `${HOST_APP}/interview/end/7/`, metadata };
    const created = await create(body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ externalId: id, status: 'created', returnUrl: body.returnUrl, metadata });
    const { body: fetched } = await t.api<Created>('GET', `/api/interviews/${created.body.id}`);
    expect(fetched).toMatchObject({ id: created.body.id, externalId: id, returnUrl: body.returnUrl, metadata });
    const { body: listed } = await t.api<Created[]>('GET', '/api/interviews?limit=500');
    expect(listed.find((item) => item.id === created.body.id)).toMatchObject({ externalId: id, returnUrl: body.returnUrl, metadata });
  });

  it('gives null externalId, returnUrl and metadata to an interview created without them', async () => {
    const created = await create({ durationSeconds: 60 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ externalId: null, returnUrl: null, metadata: null });
    expect((await t.api<Created>('GET', `/api/interviews/${created.body.id}`)).body).toMatchObject({ externalId: null, returnUrl: null, metadata: null });
  });

  it('answers a repeated create with the same externalId and body with the same interview (200) and working links', async () => {
    const body = { durationSeconds: 900, candidateName: 'Grace', externalId: externalId(), returnUrl: `${HOST_APP}/done`, metadata: { a: 1, b: { c: [1, 2] } } };
    const first = await create(body);
    // The same values in another key order (PostgreSQL's jsonb keeps none), the name with spaces the API trims.
    const again = await create({ metadata: { b: { c: [1, 2] }, a: 1 }, returnUrl: body.returnUrl, externalId: body.externalId, candidateName: ' Grace ', durationSeconds: 900 });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body).toMatchObject({ id: first.body.id, externalId: body.externalId, status: 'created' });
    expect(again.body.candidateUrl).toMatch(new RegExp(`^${t.url}/interview/${first.body.id}#token=`));
    const recording = await fetch(`${t.url}/session/${first.body.id}/recording`, { headers: { authorization: `Bearer ${tokenOf(again.body.candidateUrl)}` } });
    expect(recording.status).toBe(200);
    const { body: matching, status } = await t.api<Created[]>('GET', `/api/interviews?externalId=${encodeURIComponent(body.externalId)}`);
    expect(status).toBe(200);
    expect(matching.map((item) => item.id)).toEqual([first.body.id]);
  });

  it('answers a repeat after the interview has moved on with it as it is now', async () => {
    const body = { durationSeconds: 60, externalId: externalId() };
    const first = await create(body);
    await t.api('POST', `/api/interviews/${first.body.id}/end`, {});
    const again = await create(body);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(['finalizing', 'completed']).toContain(again.body.status);
  });

  it.each([
    ['durationSeconds', { durationSeconds: 1200 }],
    ['candidateName', { candidateName: 'Someone else' }],
    ['returnUrl', { returnUrl: `${HOST_APP}/elsewhere` }],
    ['metadata', { metadata: { jobId: 8 } }],
  ])('refuses the same externalId with another %s: 409 conflict naming externalId, nothing created', async (what, change) => {
    const body = { durationSeconds: 600, candidateName: 'Ada', externalId: externalId(), returnUrl: `${HOST_APP}/done`, metadata: { jobId: 7 } };
    const first = await create(body);
    const conflicting = await create({ ...body, ...change });
    expect(conflicting.status).toBe(409);
    expect(conflicting.body).toMatchObject({ error: 'conflict', field: 'externalId' });
    expect(conflicting.body.message).toContain(what);
    const { body: matching } = await t.api<Created[]>('GET', `/api/interviews?externalId=${encodeURIComponent(body.externalId)}`);
    expect(matching.map((item) => item.id)).toEqual([first.body.id]);
  });

  it('makes one interview of ten concurrent creates with one externalId (one 201, nine 200, one id)', async () => {
    const body = { durationSeconds: 300, externalId: externalId(), metadata: { attempt: 'same' } };
    const answers = await Promise.all(Array.from({ length: 10 }, () => create(body)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);
    const response = await fetch(`${t.url}/api/interviews?externalId=${encodeURIComponent(body.externalId)}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(response.headers.get('x-total-count')).toBe('1');
  });

  it('filters the list by externalId: none for an unknown one, 400 for a malformed one', async () => {
    const unknown = await t.api<Created[]>('GET', '/api/interviews?externalId=never-used');
    expect([unknown.status, unknown.body]).toEqual([200, []]);
    const malformed = await t.api<ApiError>('GET', `/api/interviews?externalId=${encodeURIComponent('has space')}`);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: 'invalid_input', field: 'externalId' });
  });

  it.each([
    ['an empty externalId', { externalId: '' }, 'externalId'],
    ['an externalId over 200 characters', { externalId: 'x'.repeat(201) }, 'externalId'],
    ['an externalId with a space', { externalId: 'job 7' }, 'externalId'],
    ['an externalId with a character outside [A-Za-z0-9._:@/-]', { externalId: 'job#7' }, 'externalId'],
    ['a numeric externalId', { externalId: 7 }, 'externalId'],
    ['a relative returnUrl', { returnUrl: '/interview/end/7' }, 'returnUrl'],
    ['a javascript: returnUrl', { returnUrl: 'javascript:alert(1)' }, 'returnUrl'],
    ['an ftp: returnUrl', { returnUrl: 'ftp://app.example.com/x' }, 'returnUrl'],
    ['a returnUrl on an origin not allowed', { returnUrl: 'https://evil.example/phish' }, 'returnUrl'],
    ['a returnUrl on an allowed host with another scheme', { returnUrl: 'http://app.example.com/done' }, 'returnUrl'],
    ['a returnUrl on an allowed host with another port', { returnUrl: 'https://app.example.com:8443/done' }, 'returnUrl'],
    ['a returnUrl over 2000 characters', { returnUrl: `${HOST_APP}/${'x'.repeat(2000)}` }, 'returnUrl'],
    ['metadata that is an array', { metadata: [1, 2] }, 'metadata'],
    ['metadata that is a string', { metadata: 'job 7' }, 'metadata'],
    ['metadata that is null', { metadata: null }, 'metadata'],
    ['metadata over 4 KiB as JSON', { metadata: { blob: 'x'.repeat(4096) } }, 'metadata'],
    ['metadata nested five levels', { metadata: nested(5) }, 'metadata'],
    ['metadata holding U+0000', { metadata: { name: 'a\u0000b' } }, 'metadata'],
  ])('refuses %s with 400 naming the field', async (_what, change, field) => {
    const answer = await create({ durationSeconds: 60, ...change });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_input', field });
  });

  it('accepts metadata at its bounds (4096 bytes, four levels) and a returnUrl on the service’s own origin', async () => {
    const atSize = { blob: 'x'.repeat(4096 - '{"blob":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(atSize))).toBe(4096);
    expect((await create({ durationSeconds: 60, metadata: atSize })).status).toBe(201);
    expect((await create({ durationSeconds: 60, metadata: nested(4) })).status).toBe(201);
    const own = await create({ durationSeconds: 60, returnUrl: `${t.url}/thanks?from=interview` });
    expect(own.status).toBe(201);
    expect(own.body.returnUrl).toBe(`${t.url}/thanks?from=interview`);
  });

  describe('POST /api/interviews/:id/candidate-link', () => {
    it('hands out a fresh candidate link that works like the first', async () => {
      const { body: created } = await create({ durationSeconds: 600 });
      const response = await t.api<{ candidateUrl: string; expiresAt: string }>('POST', `/api/interviews/${created.id}/candidate-link`);
      expect(response.status).toBe(200);
      expect(response.body.candidateUrl).toMatch(new RegExp(`^${t.url}/interview/${created.id}#token=[\\w-]+\\.[\\w-]+$`));
      // Valid for the interview's length plus ROLE_TOKEN_TTL_HOURS (48 h by default).
      expect(Date.parse(response.body.expiresAt) - Date.now()).toBeGreaterThan(48 * 3600_000);
      const socket = await connect(t.url, tokenOf(response.body.candidateUrl));
      try {
        expect(await request(socket, 'join', { interviewId: created.id })).toMatchObject({ ok: true, data: { role: 'candidate' } });
      } finally {
        socket.disconnect();
      }
    });

    it('answers 404 for an unknown interview and 409 for one that has ended', async () => {
      expect((await t.api<ApiError>('POST', '/api/interviews/00000000-0000-4000-8000-000000000000/candidate-link')).status).toBe(404);
      const { body: created } = await create({ durationSeconds: 60 });
      await t.api('POST', `/api/interviews/${created.id}/end`, {});
      const ended = await t.api<ApiError>('POST', `/api/interviews/${created.id}/candidate-link`);
      expect(ended.status).toBe(409);
      expect(ended.body.error).toBe('conflict');
    });
  });

  describe('returnUrl reaches the candidate, and only the candidate', () => {
    it("is in the candidate's join result and null in a proctor's", async () => {
      const returnUrl = `${HOST_APP}/interview/end/9/`;
      const { body: created } = await create({ durationSeconds: 600, returnUrl });
      const results = [];
      for (const link of [created.candidateUrl, created.proctorUrl]) {
        const socket = await connect(t.url, tokenOf(link));
        try {
          results.push(await request(socket, 'join', { interviewId: created.id }));
        } finally {
          socket.disconnect();
        }
      }
      expect(results).toMatchObject([
        { ok: true, data: { role: 'candidate', returnUrl } },
        { ok: true, data: { role: 'proctor', returnUrl: null } },
      ]);
    });

    it("is in GET /session/:id/recording for the candidate's token, and null for the proctor's", async () => {
      const returnUrl = `${HOST_APP}/interview/end/10/`;
      const { body: created } = await create({ durationSeconds: 600, returnUrl });
      const read = async (link: string) =>
        (await (await fetch(`${t.url}/session/${created.id}/recording`, { headers: { authorization: `Bearer ${tokenOf(link)}` } })).json()) as { returnUrl: string | null };
      expect((await read(created.candidateUrl)).returnUrl).toBe(returnUrl);
      expect((await read(created.proctorUrl)).returnUrl).toBeNull();
    });
  });
});
