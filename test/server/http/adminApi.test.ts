import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Service } from '../../../server/Service.ts';
import { testConfig } from '../../support/testConfig.ts';
import { randomRtcPorts } from '../../support/rtcPorts.ts';

describe('admin API', () => {
  let service: Service;
  let base: string;
  const call = (method: string, path: string, body?: unknown, token: string | null = service.adminToken) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    service = await Service.create(await testConfig(randomRtcPorts()));
    base = service.config.publicUrl;
  });
  afterAll(() => service?.close());

  it('creates an interview with signed candidate and proctor links (201)', async () => {
    const response = await call('POST', '/api/interviews', { durationSeconds: 600, candidateName: 'Ada Lovelace' });
    expect(response.status).toBe(201);
    const created = await response.json();
    expect(created).toMatchObject({ status: 'created' });
    expect(created.candidateUrl).toMatch(new RegExp(`^${base}/interview/${created.id}#token=[\\w-]+\\.[\\w-]+$`));
    expect(created.proctorUrl).toMatch(new RegExp(`^${base}/proctor/${created.id}#token=[\\w-]+\\.[\\w-]+$`));
    expect(created.candidateUrl.split('#token=')[1]).not.toBe(created.proctorUrl.split('#token=')[1]);

    const fetched = await (await call('GET', `/api/interviews/${created.id}`)).json();
    expect(fetched).toEqual({
      id: created.id,
      externalId: null,
      status: 'created',
      durationSeconds: 600,
      candidateName: 'Ada Lovelace',
      createdAt: expect.any(String),
      startedAt: null,
      endsAt: null,
      completedAt: null,
      screenVideo: '',
      candidateVideo: '',
      timelineVtt: '',
      score: 0,
      notes: '',
      failureReason: null,
      gaps: [],
      recordingsDeletedAt: null,
      screenSource: null,
      returnUrl: null,
      metadata: null,
      nextRetryAt: null,
      playback: { screenVideo: '', candidateVideo: '', timelineVtt: null, expiresAt: null },
      files: [],
      filmstrip: null,
      // A filmstrip comes after the end (this service makes them).
      filmstripComing: true,
    });
  });

  it('lists interviews newest first', async () => {
    const first = await (await call('POST', '/api/interviews', { durationSeconds: 60 })).json();
    // Created at distinct milliseconds (ties are ordered by id, which is random).
    const firstCreatedAt = Date.parse((await (await call('GET', `/api/interviews/${first.id}`)).json()).createdAt);
    await expect.poll(() => Date.now()).toBeGreaterThan(firstCreatedAt);
    const second = await (await call('POST', '/api/interviews', { durationSeconds: 60 })).json();
    const list: Array<{ id: string }> = await (await call('GET', '/api/interviews')).json();
    const ids = list.map((item) => item.id);
    // Both listed (indexOf of a missing one is -1, which any order check would accept), newer first.
    expect(ids.filter((id) => id === first.id || id === second.id)).toEqual([second.id, first.id]);
  });

  it('ends an interview with score and notes, setting completedAt', async () => {
    const created = await (await call('POST', '/api/interviews', { durationSeconds: 60 })).json();
    const response = await call('POST', `/api/interviews/${created.id}/end`, { score: 7, notes: 'solid' });
    expect(response.status).toBe(200);
    const ended = await response.json();
    expect(ended).toMatchObject({ score: 7, notes: 'solid' });
    expect(['finalizing', 'completed']).toContain(ended.status);
    expect(Date.parse(ended.completedAt)).toBeGreaterThan(Date.now() - 10_000);
  });

  it.each([
    ['a missing duration', {}, 'durationSeconds'],
    ['a duration below 10 s', { durationSeconds: 9 }, 'durationSeconds'],
    ['a duration above 4 h', { durationSeconds: 14401 }, 'durationSeconds'],
    ['a fractional duration', { durationSeconds: 10.5 }, 'durationSeconds'],
    ['a duration given as text', { durationSeconds: '60' }, 'durationSeconds'],
    ['a candidate name over 200 characters', { durationSeconds: 60, candidateName: 'x'.repeat(201) }, 'candidateName'],
  ])('refuses %s with 400 naming the field', async (_what, body, field) => {
    const response = await call('POST', '/api/interviews', body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_input', field });
  });

  it('refuses malformed JSON with 400', async () => {
    const response = await call('POST', '/api/interviews', '{"durationSeconds":');
    expect(response.status).toBe(400);
  });

  it('refuses a negative score when ending, naming the field', async () => {
    const created = await (await call('POST', '/api/interviews', { durationSeconds: 60 })).json();
    const response = await call('POST', `/api/interviews/${created.id}/end`, { score: -1 });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ field: 'score' });
  });

  it('answers 401 without a token or with a wrong one', async () => {
    expect((await call('GET', '/api/interviews', undefined, null)).status).toBe(401);
    expect((await call('GET', '/api/interviews', undefined, 'wrong-token')).status).toBe(401);
    expect((await call('POST', '/api/interviews', { durationSeconds: 60 }, 'wrong-token')).status).toBe(401);
  });

  it('answers 404 for an unknown interview', async () => {
    expect((await call('GET', '/api/interviews/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await call('POST', '/api/interviews/00000000-0000-4000-8000-000000000000/end', {})).status).toBe(404);
  });

  it('reports database, object store and mediasoup workers in /healthz', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', database: { ok: true }, objectStore: { ok: true }, mediasoup: { ok: true, alive: 1 } });
  });
});
