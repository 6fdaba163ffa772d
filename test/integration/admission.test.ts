import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, request } from '../signaling/signalingClient.ts';
import { parsePrometheusText, valueOf } from '../support/prometheusText.ts';
import { publishSynthetic, useSyntheticScene, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService } from '../support/testService.ts';

async function scrape(url: string, token: string) {
  return parsePrometheusText(await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text());
}

describe('admission before overload', () => {
  const scene = useSyntheticScene();
  const burners: ChildProcess[] = [];
  afterEach(() => {
    for (const burner of burners.splice(0)) burner.kill('SIGKILL');
  });

  it('refuses a new interview and a candidate starting one (503 at_capacity) once reservations are full; the running interview is unaffected', async () => {
    // Half the cores allowed, each interview reserving 60 % of that: one fits, two do not.
    const threshold = os.cpus().length * 0.5;
    const t = (scene.t = await startTestService({ ADMISSION_MAX_CPU_PERCENT: '50', INTERVIEW_CPU_COST: String(threshold * 0.6), ADMISSION_MEASURED_CPU: 'false' }));
    const running = await t.createInterview({ durationSeconds: 12 });
    const waiting = await t.createInterview({ durationSeconds: 60 });
    scene.publisher = await publishSynthetic(t, running.id);
    await waitForRecordedBytes(t, running.id, 100_000);

    const refused = await t.api<{ error: string; message: string }>('POST', '/api/interviews', { durationSeconds: 60 });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: 'at_capacity', message: expect.stringMatching(/1 interviews already reserve/) });
    const candidate = await connect(t.url, waiting.candidateToken);
    try {
      expect(await request(candidate, 'join', { interviewId: waiting.id })).toMatchObject({ ok: false, error: { code: 'at_capacity' } });
    } finally {
      candidate.disconnect();
    }
    // A proctor may still watch; only a new load is refused.
    const proctor = await connect(t.url, waiting.proctorToken);
    try {
      expect(await request(proctor, 'join', { interviewId: waiting.id })).toMatchObject({ ok: true });
    } finally {
      proctor.disconnect();
    }
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(503);
    expect((await health.json()).admission).toMatchObject({ ok: false, enabled: true, activeInterviews: 1 });
    const metrics = await scrape(t.url, t.adminToken);
    expect(valueOf(metrics, 'interview_ingest_at_capacity')).toBe(1);
    // The gauge says why: one interview's reservation, against half the cores.
    expect(valueOf(metrics, 'interview_ingest_admission_cores', { what: 'reserved' })).toBeCloseTo(threshold * 0.6, 6);
    expect(valueOf(metrics, 'interview_ingest_admission_cores', { what: 'threshold' })).toBeCloseTo(threshold, 6);

    // The running interview records on and ends on time, whole.
    const done = await waitForStatus(t, running.id, 'completed', 60_000);
    expect(done.gaps).toEqual([]);
    expect(Math.abs(Date.parse(done.completedAt!) - Date.parse(done.endsAt!))).toBeLessThan(1500);
    await scene.publisher.close();
    scene.publisher = undefined;
    // Its reservation is given back.
    await waitFor(async () => (await t.api('POST', '/api/interviews', { durationSeconds: 60 })).status === 201, { what: 'a new interview admitted again' });
    const after = await scrape(t.url, t.adminToken);
    expect(valueOf(after, 'interview_ingest_at_capacity')).toBe(0);
    expect(valueOf(after, 'interview_ingest_admission_cores', { what: 'reserved' })).toBe(0);
  });

  it('refuses a new interview while the machine is measured busier than the threshold', async () => {
    const t = (scene.t = await startTestService({ ADMISSION_MAX_CPU_PERCENT: '40' }));
    // Every core spinning: whatever else runs, the machine is busier than 40 %.
    for (let i = 0; i < os.cpus().length; i++) burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    const report = await waitFor(async () => {
      const admission = (await (await fetch(`${t.url}/healthz`)).json()).admission;
      return admission.measuredBusyCores >= admission.thresholdCores ? admission : null;
    }, { timeoutMs: 15_000, what: 'the measured load above the threshold' });
    expect(report).toMatchObject({ ok: false, activeInterviews: 0 });
    const refused = await t.api<{ error: string; message: string }>('POST', '/api/interviews', { durationSeconds: 60 });
    expect(refused).toMatchObject({ status: 503, body: { error: 'at_capacity', message: expect.stringMatching(/the machine is busy/) } });
    const metrics = await scrape(t.url, t.adminToken);
    expect(valueOf(metrics, 'interview_ingest_at_capacity')).toBe(1);
    expect(valueOf(metrics, 'interview_ingest_admission_cores', { what: 'measured_busy' })).toBeGreaterThanOrEqual(valueOf(metrics, 'interview_ingest_admission_cores', { what: 'threshold' }));
    expect(valueOf(metrics, 'interview_ingest_admission_cores', { what: 'reserved' })).toBe(0);
  });
});
