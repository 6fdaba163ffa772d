// PostgreSQL restarted under a running service: /healthz says the database is down while it is,
// and up again afterwards; the API works again without restarting the service, and an interview
// that was live through the outage still ends and completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getInterview, publishSynthetic, useSyntheticScene, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { waitFor } from '../support/testConfig.ts';
import { capturingLogger, startTestService, type TestService } from '../support/testService.ts';

interface Health {
  status: string;
  database: { ok: boolean };
}

async function health(t: TestService): Promise<{ code: number; body: Health }> {
  const response = await fetch(`${t.url}/healthz`);
  return { code: response.status, body: (await response.json()) as Health };
}

describe('the service when PostgreSQL restarts', () => {
  let postgres: PostgresServer;
  const scene = useSyntheticScene();
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  it('reports the database down, then up again, and serves the API afterwards; a live interview completes', async () => {
    const url = await postgres.createDatabase('ingest_outage');
    // The refused request's error goes to this log, not the test's output.
    const { logger, lines } = capturingLogger();
    const t = (scene.t = await startTestService({ DATABASE_URL: url }, { logger }));
    const live = await t.createInterview({ durationSeconds: 600 });
    scene.publisher = await publishSynthetic(t, live.id);
    await waitForStatus(t, live.id, 'live', 20_000);
    await waitForRecordedBytes(t, live.id, 50_000);
    expect(await health(t)).toMatchObject({ code: 200, body: { status: 'ok', database: { ok: true } } });

    await postgres.halt();
    const down = await waitFor(async () => {
      const answer = await health(t);
      return answer.body.database.ok ? undefined : answer;
    }, { timeoutMs: 10_000, what: '/healthz to report the database down' });
    expect(down).toMatchObject({ code: 503, body: { status: 'unavailable', database: { ok: false } } });
    // The API answers (an error, not a hang) while the database is away.
    const refused = await t.api('POST', '/api/interviews', { durationSeconds: 600 });
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect(lines.some((line) => line.msg === 'request failed' && /ECONNREFUSED/.test(JSON.stringify(line.err)))).toBe(true);
    // The recording goes on meanwhile: it is on this node's disk, not in the database.
    const bytesBefore = (await (t.service.sessions.get(live.id)?.recording)!.stats()).bytesWritten.screen;
    await waitFor(async () => (await (t.service.sessions.get(live.id)?.recording)!.stats()).bytesWritten.screen > bytesBefore + 20_000, {
      timeoutMs: 10_000,
      what: 'the recording to grow during the outage',
    });

    await postgres.resume();
    const resumed = Date.now();
    const up = await waitFor(async () => {
      const answer = await health(t);
      return answer.body.database.ok ? answer : undefined;
    }, { timeoutMs: 15_000, what: '/healthz to report the database up again' });
    console.log(`database up on /healthz ${Date.now() - resumed} ms after PostgreSQL accepted connections again (upper bound, polled)`);
    expect(up).toMatchObject({ code: 200, body: { status: 'ok', database: { ok: true } } });

    expect(await getInterview(t, live.id)).toMatchObject({ id: live.id, status: 'live' });
    const after = await t.createInterview({ durationSeconds: 600 });
    const list = await t.api<{ id: string }[]>('GET', '/api/interviews');
    expect(list.body.map((interview) => interview.id).sort()).toEqual([live.id, after.id].sort());

    const ended = await t.api('POST', `/api/interviews/${live.id}/end`);
    expect(ended.status).toBe(200);
    const done = await waitForStatus(t, live.id, 'completed', 60_000);
    expect(done.screenVideo).toMatch(/\/screen\.webm$/);
    const [row] = await postgres.query('ingest_outage', 'select status from interviews where id = $1', [live.id]);
    expect(row).toEqual({ status: 'completed' });
  });
});
