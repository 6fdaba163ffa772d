// GET /session/:id/recording serves the end and review pages: only a candidate or proctor token of
// that very interview may read it (README, "Other routes").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type CreatedInterview, type TestService } from '../../support/testService.ts';

describe('GET /session/:id/recording', () => {
  let t: TestService;
  let interview: CreatedInterview;
  let other: CreatedInterview;
  const get = (id: string, authorization?: string) => fetch(`${t.url}/session/${id}/recording`, { headers: authorization ? { authorization } : {} });

  beforeAll(async () => {
    t = await startTestService();
    [interview, other] = await Promise.all([t.createInterview(), t.createInterview()]);
  });
  afterAll(() => t?.close());

  it.each([
    ['the candidate token', () => interview.candidateToken],
    ['the proctor token', () => interview.proctorToken],
  ])('answers the status to %s of the interview', async (_what, token) => {
    const response = await get(interview.id, `Bearer ${token()}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: interview.id, status: 'created' });
  });

  it.each([
    ['no Authorization header', () => undefined, 401],
    ['a token that is not a role token', () => 'Bearer not-a-token', 401],
    ['the admin token (not a role token)', () => `Bearer ${t.adminToken}`, 401],
    ['a role token with a forged signature', () => `Bearer ${interview.proctorToken.slice(0, -2)}${interview.proctorToken.endsWith('AA') ? 'BB' : 'AA'}`, 401],
    ["another interview's candidate token", () => `Bearer ${other.candidateToken}`, 403],
    ["another interview's proctor token", () => `Bearer ${other.proctorToken}`, 403],
  ])('refuses %s', async (_what, authorization, status) => {
    const response = await get(interview.id, authorization());
    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body).toMatchObject({ error: status === 401 ? 'unauthorized' : 'forbidden' });
    expect(body).not.toHaveProperty('status');
  });
});
