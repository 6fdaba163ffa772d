import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';
import { rawRequest } from './rawClients.ts';

/**
 * Spellings of one request target that reach the same route: the router decodes
 * percent-escapes and accepts absolute-form targets (RFC 9112 §3.2.2), so authorization must
 * follow the matched route, not the URL text.
 */
function spellingsOf(path: string, port: number): string[] {
  const rest = path.slice('/api'.length);
  return [
    path,
    `/%61pi${rest}`,
    `/%61%70%69${rest}`,
    `/api${rest.replace('interviews', 'interview%73')}`,
    `http://127.0.0.1:${port}${path}`,
    `http://127.0.0.1:${port}/%61pi${rest}`,
    `/api${rest}?token=x`,
  ];
}

describe('the admin API answers nobody without the admin token, however the target is spelled', () => {
  let ts: TestService;
  let interview: CreatedInterview;
  let port: number;

  beforeAll(async () => {
    ts = await startTestService();
    interview = await ts.createInterview({ candidateName: 'Ada' });
    port = Number(new URL(ts.url).port);
  });

  afterAll(async () => {
    await ts?.close();
  });

  it('finds the admin routes it checks from the service itself (so a new route is covered too)', () => {
    const admin = ts.service.routes.filter((route) => route.url.startsWith('/api'));
    expect(admin.map((route) => `${route.method} ${route.url}`).sort()).toEqual(
      [
        'GET /api/interviews',
        'GET /api/interviews/:id',
        'GET /api/interviews/:id/events',
        'GET /api/interviews/:id/webhooks',
        'GET /api/openapi.json',
        'DELETE /api/interviews/:id/recordings',
        'POST /api/interviews',
        'POST /api/interviews/:id/end',
        'POST /api/interviews/:id/candidate-link',
        'POST /api/interviews/:id/proctor-link',
        'POST /api/interviews/:id/retry-upload',
      ].sort(),
    );
  });

  it('refuses every admin route, in every spelling, without a token or with a wrong one (401), and changes nothing', async () => {
    const answers: string[] = [];
    for (const route of ts.service.routes.filter((r) => r.url.startsWith('/api'))) {
      const path = route.url.replace(':id', interview.id);
      const body = route.method === 'POST' ? JSON.stringify(route.url === '/api/interviews' ? { durationSeconds: 60 } : { notes: 'overwritten' }) : '';
      for (const target of spellingsOf(path, port)) {
        const variants: Array<Record<string, string>> = [{}, { Authorization: 'Bearer wrong-token-0123456789' }, { Authorization: `Basic ${ts.adminToken}` }];
        for (const headers of variants) {
          const response = await rawRequest(port, route.method, target, headers, body);
          answers.push(`${route.method} ${target} ${Object.keys(headers).length ? headers.Authorization!.split(' ')[0] : 'none'} → ${response.status}`);
        }
      }
    }
    // Before: 200/201 for the %61pi and absolute-form spellings.
    expect(answers.filter((answer) => !answer.endsWith('→ 401'))).toEqual([]);
    const { body } = await ts.api<{ status: string; notes: string }>('GET', `/api/interviews/${interview.id}`);
    expect(body).toMatchObject({ status: 'created', notes: '' });
    const { body: list } = await ts.api<unknown[]>('GET', '/api/interviews');
    expect(list).toHaveLength(1);
  });

  it('answers the same targets for the admin (so the spellings above did reach the routes)', async () => {
    for (const target of spellingsOf(`/api/interviews/${interview.id}`, port)) {
      const response = await rawRequest(port, 'GET', target, { Authorization: `Bearer ${ts.adminToken}` });
      expect({ target, status: response.status }).toEqual({ target, status: 200 });
      expect(JSON.parse(response.body)).toMatchObject({ id: interview.id });
    }
  });

  it('refuses unknown /api paths without a token too (401 before 404)', async () => {
    expect((await rawRequest(port, 'GET', '/api/not-a-route')).status).toBe(401);
    expect((await rawRequest(port, 'DELETE', `/api/interviews/${interview.id}`)).status).toBe(401);
    expect((await rawRequest(port, 'GET', '/api/not-a-route', { Authorization: `Bearer ${ts.adminToken}` })).status).toBe(404);
  });
});
