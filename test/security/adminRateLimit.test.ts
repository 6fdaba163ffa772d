// The admin API's rate limit per client address: a token guessed at is stopped after a few tries
// (ADMIN_FAILED_AUTH_PER_MINUTE) while the right token goes on, up to ADMIN_RATE_LIMIT_PER_MINUTE;
// nothing outside /api is limited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN, startTestService, type TestService } from '../support/testService.ts';

describe('the admin API rate limit', () => {
  let ts: TestService;
  const get = (token: string) => fetch(`${ts.url}/api/interviews`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    ts = await startTestService({ ADMIN_RATE_LIMIT_PER_MINUTE: '12', ADMIN_FAILED_AUTH_PER_MINUTE: '3' });
  });
  afterAll(async () => ts?.close());

  it('stops wrong tokens after a few tries, lets the right one on, then limits that too', async () => {
    const wrong: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) wrong.push((await get('not-the-admin-token-at-all')).status);
    expect(wrong).toEqual([401, 401, 401, 429, 429]);
    const refused = await get('not-the-admin-token-at-all');
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'limit_reached', message: expect.stringMatching(/^too many admin API requests from this address; try again in \d+ (seconds?|minutes?)$/) });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    // The operator with the right token is not locked out by someone guessing (6 counted so far).
    const right: number[] = [];
    for (let attempt = 0; attempt < 7; attempt++) right.push((await get(TEST_ADMIN_TOKEN)).status);
    expect(right).toEqual([200, 200, 200, 200, 200, 200, 429]);

    // Pages and the health check are not the admin API.
    expect((await fetch(`${ts.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${ts.url}/`)).status).toBe(200);
  });
});
