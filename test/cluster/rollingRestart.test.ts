// A rolling restart of a two-node cluster during one interview: each node in turn gets SIGTERM (as
// a deploy sends), hands its live interview to the other node before it exits, and starts again.
// Two service processes on one PostgreSQL, one Redis and one external object store, the recording
// journal on; the candidate's page (real Chromium, loaded from node A) follows the interview from
// node to node by itself. The interview completes, and both final files hold the three stretches
// recorded (A, then B, then A again) but for the handovers' short outages.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../server/cluster/clusterKeys.ts';
import type { RedisClient } from '../../server/cluster/redisClient.ts';
import { buildClient, launchBrowser, pressStart, type TestBrowser } from '../support/browser.ts';
import { startClusterBackends, type ClusterBackends } from '../support/clusterBackends.ts';
import { downloadTo, expectRecordedStretches, logServiceOnFailure, waitForInterview, waitForMediaFlowing } from '../support/faults.ts';
import { ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

/** Recording time on each node between the restarts (the sleeps are this recording time). */
const RECORD_MS = 6000;
const JOURNAL_SECONDS = 2;

describe('a rolling restart of every node during one interview', () => {
  let backends: ClusterBackends | undefined;
  let admin: RedisClient;
  const envs: ServiceEnv[] = [];
  /** The running process of node A and of node B (replaced when one restarts). */
  const services: ServiceProcess[] = [];
  let browser: TestBrowser | undefined;
  const downloads = tempDir('rolling-downloads-');
  logServiceOnFailure(() => services.find((service) => !service.hasExited));

  beforeAll(async () => {
    buildClient();
    backends = await startClusterBackends('rolling_restart');
    admin = backends.admin;
    const shared = { ...backends.env, RECORDING_JOURNAL_SECONDS: String(JOURNAL_SECONDS) };
    envs.push(await serviceEnv({ ...shared, NODE_ID: 'node-a' }), await serviceEnv({ ...shared, NODE_ID: 'node-b' }));
    for (const env of envs) services.push(await ServiceProcess.start(env));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    for (const service of services) await service.kill();
    await backends?.close();
    for (const dir of [...envs.map((env) => env.DATA_DIR), downloads]) fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * SIGTERM to node `leaving` (0: A, 1: B): the other node holds the lease and records the page's
   * media before the leaving one has exited; then it starts again with the same settings.
   */
  async function restart(leaving: 0 | 1, interviewId: string): Promise<{ signalledAt: number; resumedAt: number }> {
    const gone = services[leaving]!;
    const taker = services[1 - leaving]!;
    const signalledAt = Date.now();
    const exited = gone.terminate();
    const takerId = envs[1 - leaving]!.NODE_ID!;
    await waitFor(async () => ((await admin.get(clusterKeys.lease(interviewId))) ?? '').startsWith(`${takerId}/`), { timeoutMs: 8000, intervalMs: 20, what: `${takerId} to take the lease` });
    const leaseMs = Date.now() - signalledAt;
    const resumed = await waitForMediaFlowing(taker, signalledAt, 30_000);
    const exit = await exited;
    const exitedMs = Date.now() - signalledAt;
    console.log(
      `SIGTERM to ${gone.env.NODE_ID}: ${takerId} held the lease after ${leaseMs} ms, recorded the page's media after ${resumed.time - signalledAt} ms; ` +
        `${gone.env.NODE_ID} exited (code ${exit.code}) ${exitedMs} ms after the signal`,
    );
    expect(exit.code).toBe(0);
    expect(leaseMs).toBeLessThan(5000);
    // Handed over before it exited: the page did not wait for the node to be gone.
    expect(gone.logged('handed the interview over')).toHaveLength(1);
    services[leaving] = await ServiceProcess.start(gone.env);
    return { signalledAt, resumedAt: resumed.time };
  }

  it('hands the interview from node to node as each restarts; it completes with both files holding every stretch', async () => {
    const testStartedAt = Date.now();
    const a = services[0]!;
    await waitFor(async () => (await admin.sMembers(clusterKeys.nodes)).length === 2, { what: 'both nodes registered' });
    const created = await a.api<{ id: string; candidateUrl: string }>('POST', '/api/interviews', { durationSeconds: 120, candidateName: 'Rolling Restart' });
    expect(created.status).toBe(201);
    const { id, candidateUrl } = created.body;
    expect(candidateUrl.startsWith(`${a.url}/interview/${id}#token=`)).toBe(true);
    const candidate: Page = await browser!.newPage();
    await pressStart(candidate, candidateUrl);
    await waitForInterview(a, id, (state) => state.status === 'live', 'the interview to go live');
    const flowingAt = (await waitForMediaFlowing(a, 0)).time;

    await sleep(RECORD_MS);
    const first = await restart(0, id);
    await sleep(RECORD_MS);
    const second = await restart(1, id);
    await sleep(RECORD_MS);
    const endAt = Date.now();
    const owner = services[0]!;
    expect((await owner.api('POST', `/api/interviews/${id}/end`, {})).status).toBe(200);
    const done = await waitForInterview(owner, id, (state) => state.status === 'completed' || state.status === 'failed', 'the interview to be delivered', 90_000);
    expect(done.status, done.failureReason ?? '').toBe('completed');
    // The page never reloaded: it is still the one opened at node A's URL.
    expect(candidate.url()).toContain(`/interview/end/${id}`);

    const stretches = [first.signalledAt - flowingAt, second.signalledAt - first.resumedAt, endAt - second.resumedAt].map((ms) => ms / 1000);
    const outages = [first.resumedAt - first.signalledAt, second.resumedAt - second.signalledAt].map((ms) => ms / 1000);
    expect(done.gaps.map((gap) => gap.cause)).toEqual(['service restarted', 'service restarted']);
    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      // A graceful handover ships everything written: what is lost is what ffmpeg had not written yet.
      await expectRecordedStretches(file, stretches, outages);
    }
    console.log(`rolling restart test: ${((Date.now() - testStartedAt) / 1000).toFixed(1)} s`);
  }, 240_000);
});
