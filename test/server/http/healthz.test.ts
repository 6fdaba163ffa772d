// /healthz is 200 only while every part is up; otherwise 503 and the body names the part that is
// down (README, "Other routes"). Draining is covered by test/faults/serviceRestart (a real SIGTERM).
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../support/testConfig.ts';
import { startTestService, type TestService } from '../../support/testService.ts';

interface Health {
  status: string;
  [part: string]: unknown;
}

describe('/healthz', () => {
  let t: TestService | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const health = async (): Promise<{ status: number; body: Health }> => {
    const response = await fetch(`${t!.url}/healthz`);
    return { status: response.status, body: (await response.json()) as Health };
  };
  const up = { service: { ok: true }, disk: { ok: true }, database: { ok: true }, objectStore: { ok: true }, mediasoup: { ok: true } };

  it('answers 503 naming the database when it is down', async () => {
    t = await startTestService();
    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok', ...up } });
    await t.service.database.close();
    expect(await health()).toMatchObject({ status: 503, body: { status: 'unavailable', ...up, database: { ok: false } } });
  });

  it('answers 503 naming the object store when it is down', async () => {
    t = await startTestService();
    await t.service.embeddedS3!.close();
    expect(await health()).toMatchObject({ status: 503, body: { status: 'unavailable', ...up, objectStore: { ok: false } } });
  });

  it('answers 503 naming mediasoup while a worker is dead, and 200 again once it is replaced', async () => {
    t = await startTestService();
    const service = t.service;
    const [worker] = service.workers.workers;
    // Asked the moment the worker is known dead, before its replacement can have started.
    const during = new Promise<{ statusCode: number; body: string }>((resolve) => worker!.once('died', () => resolve(service.http.inject({ url: '/healthz' }))));
    process.kill(worker!.pid, 'SIGKILL');
    const answer = await during;
    expect(answer.statusCode).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'unavailable', ...up, mediasoup: { ok: false, workers: 1, alive: 0 } });
    await waitFor(async () => (await health()).status === 200, { timeoutMs: 10_000, what: 'the replacement worker' });
    expect((await health()).body.mediasoup).toMatchObject({ ok: true, alive: 1 });
    expect(service.workers.workers[0]!.pid).not.toBe(worker!.pid);
  });
});
