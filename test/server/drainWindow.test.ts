// Draining a load balancer can see: on SIGTERM the service answers /healthz 503 for DRAIN_SECONDS
// while everything else is served as before, then shuts down as it always did. (Measured before
// this window: /healthz was 503 for only tens of milliseconds before the listener closed, so a
// balancer's health check rarely saw it.) SIGINT (Ctrl-C) does not wait.
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceProcess, serviceEnv } from '../support/serviceProcess.ts';
import { waitFor } from '../support/testConfig.ts';

const DRAIN_SECONDS = 2;

describe('the drain window', () => {
  let service: ServiceProcess | undefined;
  afterEach(async () => {
    if (service && !service.hasExited) await service.kill();
    service = undefined;
  });

  it('answers /healthz 503 for DRAIN_SECONDS after SIGTERM while pages and the API are served, then exits 0', async () => {
    const env = await serviceEnv({ DRAIN_SECONDS: String(DRAIN_SECONDS) });
    service = await ServiceProcess.start(env);
    const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}` };
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);

    const signalled = Date.now();
    service.child.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${service!.url}/healthz`)).status === 503, { timeoutMs: 1000, intervalMs: 20, what: '/healthz to answer 503' });
    const seen503At = Date.now();
    // Meanwhile everything else is served: an admin API read, a page, and /healthz says why.
    const health = (await (await fetch(`${service.url}/healthz`)).json()) as { status: string; service?: { ok: boolean } };
    expect(health.status).toBe('unavailable');
    expect((await fetch(`${service.url}/api/interviews`, { headers: admin })).status).toBe(200);
    expect((await fetch(`${service.url}/`)).status).toBe(200);
    // New interviews go elsewhere: the service refuses them while draining.
    expect((await fetch(`${service.url}/api/interviews`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ durationSeconds: 60 }) })).status).toBe(503);

    const exit = await service.exited;
    const exitedAfterMs = Date.now() - signalled;
    console.log(`drain: /healthz 503 ${seen503At - signalled} ms after SIGTERM, exit ${exitedAfterMs} ms after it`);
    expect(seen503At - signalled).toBeLessThan(1000);
    expect(exitedAfterMs).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(service.logged('draining: /healthz answers 503').length).toBe(1);
  });

  it('does not wait on SIGINT (Ctrl-C at a terminal)', async () => {
    service = await ServiceProcess.start(await serviceEnv({ DRAIN_SECONDS: '30' }));
    const signalled = Date.now();
    service.child.kill('SIGINT');
    const exit = await service.exited;
    // Signalled the moment the banner appears: a SIGINT before its handler killed the process.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(15_000);
    expect(service.logged('draining: /healthz answers 503')).toEqual([]);
  });
});
