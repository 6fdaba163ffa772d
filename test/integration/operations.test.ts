import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { AbstractSqlConnection } from '@mikro-orm/postgresql';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Database } from '../../server/db/Database.ts';
import { Interview } from '../../server/db/Interview.ts';
import { recordingObjectKey } from '../../server/db/RecordingFile.ts';
import { parsePrometheusText, valueOf } from '../support/prometheusText.ts';
import { publishSynthetic, useSyntheticScene, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import { connect } from '../signaling/signalingClient.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { asAdmin, startTestService, type TestService } from '../support/testService.ts';

const METRICS_TOKEN = 'metrics-token-0123456789';

async function scrape(t: TestService, token = METRICS_TOKEN) {
  const response = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

/** A counter's value, 0 while it has no sample yet (a labelled counter appears at its first increment). */
function countOf(families: ReturnType<typeof parsePrometheusText>, name: string, labels: Record<string, string> = {}): number {
  const known = [...families.values()].some((family) => family.samples.some((sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v)));
  return known ? valueOf(families, name, labels) : 0;
}

const RESTARTED = { cause: 'recorder restarted' };

async function objectExists(t: TestService, key: string): Promise<boolean> {
  try {
    await t.service.objectStore.client.send(new HeadObjectCommand({ Bucket: t.service.objectStore.bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

describe('operating the service: metrics, deletion and retention', () => {
  const scene = useSyntheticScene();

  it('serves Prometheus metrics to METRICS_TOKEN or the admin token that follow a recorded interview', async () => {
    const t = (scene.t = await startTestService({ METRICS_TOKEN }));
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const before = await scrape(t, t.adminToken);
    // Node's defaults, named as Prometheus expects; no interview ids in any label.
    expect(before.get('process_cpu_seconds')?.type ?? before.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(before.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
    for (const family of before.values()) {
      if (family.type === 'counter') expect(family.samples.every((s) => s.name.endsWith('_total'))).toBe(true);
      for (const sample of family.samples) expect(Object.values(sample.labels).join(' ')).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    }
    const endToUrlsBefore = valueOf(before, 'interview_ingest_end_to_urls_seconds_count');
    // The worker's whole RTC slice is free before any interview.
    const freePortsIdle = valueOf(before, 'interview_ingest_mediasoup_worker_free_ports', { worker: '0' });
    expect(freePortsIdle).toBe(Number(t.service.config.mediasoup.rtcMaxPort) - Number(t.service.config.mediasoup.rtcMinPort) + 1);

    const interview = await t.createInterview({ durationSeconds: 10 });
    scene.publisher = await publishSynthetic(t, interview.id);
    await waitForRecordedBytes(t, interview.id, 100_000);
    const during = await scrape(t);
    expect(valueOf(during, 'interview_ingest_live_interviews')).toBe(1);
    expect(valueOf(during, 'interview_ingest_recordings_running')).toBe(1);
    expect(valueOf(during, 'interview_ingest_rtp_packets_received', { kind: 'video' })).toBeGreaterThan(50);
    expect(valueOf(during, 'interview_ingest_rtp_packets_received', { kind: 'audio' })).toBeGreaterThan(50);
    expect(valueOf(during, 'interview_ingest_rtp_packets_lost', { kind: 'video' })).toBe(0);
    expect(valueOf(during, 'interview_ingest_mediasoup_worker_cpu_seconds_total', { worker: '0' })).toBeGreaterThan(0);
    expect(valueOf(during, 'interview_ingest_mediasoup_worker_resident_memory_bytes', { worker: '0' })).toBeGreaterThan(5_000_000);
    expect(valueOf(during, 'interview_ingest_disk_free_bytes')).toBeGreaterThan(0);
    // The publisher's transports and the recorder's (3 streams, RTP and RTCP each) take ports of the slice.
    expect(valueOf(during, 'interview_ingest_mediasoup_worker_free_ports', { worker: '0' })).toBeLessThanOrEqual(freePortsIdle - 6);
    expect(valueOf(during, 'interview_ingest_connected_participants', { role: 'candidate' })).toBe(0);

    // Signalling connections are counted by role while they are open (the synthetic publisher above
    // bypasses signalling: these are a proctor's and a candidate's sockets, not joined).
    const sockets = [await connect(t.url, interview.proctorToken), await connect(t.url, interview.candidateToken)];
    try {
      const open = await scrape(t);
      expect(valueOf(open, 'interview_ingest_connected_participants', { role: 'proctor' })).toBe(1);
      expect(valueOf(open, 'interview_ingest_connected_participants', { role: 'candidate' })).toBe(1);
    } finally {
      for (const socket of sockets) socket.disconnect();
    }
    await expect.poll(async () => valueOf(await scrape(t), 'interview_ingest_connected_participants')).toBe(0);

    // A recorder restart (ffmpeg killed) is one restart and one gap, counted by its cause.
    const recording = t.service.sessions.get(interview.id)!.recording!;
    await waitFor(() => recording.ffmpegPid, { what: 'the recorder running' });
    process.kill(recording.ffmpegPid!, 'SIGKILL');
    await waitFor(async () => countOf(await scrape(t), 'interview_ingest_recording_gaps_total', RESTARTED) > countOf(before, 'interview_ingest_recording_gaps_total', RESTARTED), {
      timeoutMs: 15_000,
      what: 'the gap counted',
    });

    const done = await waitForStatus(t, interview.id, 'completed', 60_000);
    const after = await scrape(t);
    expect(valueOf(after, 'interview_ingest_live_interviews')).toBe(0);
    expect(valueOf(after, 'interview_ingest_recordings_running')).toBe(0);
    expect(valueOf(after, 'interview_ingest_end_to_urls_seconds_count') - endToUrlsBefore).toBe(1);
    expect(valueOf(after, 'interview_ingest_end_to_urls_seconds_bucket', { le: '+Inf' })).toBeGreaterThanOrEqual(1);
    const stored = await Promise.all(['screen', 'candidate'].map(async (kind) => Number((await fetch(kind === 'screen' ? done.screenVideo : done.candidateVideo, { method: 'HEAD', headers: asAdmin() })).headers.get('content-length'))));
    expect(valueOf(after, 'interview_ingest_recorded_bytes_total') - valueOf(before, 'interview_ingest_recorded_bytes_total')).toBe(stored[0]! + stored[1]!);
    expect(valueOf(after, 'interview_ingest_upload_parts_total')).toBeGreaterThanOrEqual(2);
    expect(countOf(after, 'interview_ingest_recording_gaps_total', RESTARTED) - countOf(before, 'interview_ingest_recording_gaps_total', RESTARTED)).toBe(1);
    expect(countOf(after, 'interview_ingest_recorder_restarts_total') - countOf(before, 'interview_ingest_recorder_restarts_total')).toBe(1);
    // Every port back once the interview's transports are closed.
    await expect.poll(async () => valueOf(await scrape(t), 'interview_ingest_mediasoup_worker_free_ports', { worker: '0' })).toBe(freePortsIdle);
  });

  it('counts database connections in use and requests waiting for one', async () => {
    const t = (scene.t = await startTestService({ METRICS_TOKEN }));
    const knex = (t.service.database.em().getConnection() as unknown as AbstractSqlConnection).getKnex();
    const pool = knex.client.pool as { numUsed(): number; numPendingAcquires(): number };
    // A transaction holds SQLite's one connection; an API request then waits for it, and so does the
    // scrape's own query (interviews live): both are queued before the gauge is read.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = knex.transaction(async () => held);
    try {
      await waitFor(() => pool.numUsed() === 1, { what: 'the transaction holding the connection' });
      const listing = t.api('GET', '/api/interviews');
      await waitFor(() => pool.numPendingAcquires() >= 1, { what: 'the API request waiting' });
      const scraping = scrape(t);
      await waitFor(() => pool.numPendingAcquires() >= 2, { what: "the scrape's query waiting" });
      release();
      const busy = await scraping;
      expect(valueOf(busy, 'interview_ingest_database_connections', { state: 'in_use' })).toBe(1);
      expect(valueOf(busy, 'interview_ingest_database_connections', { state: 'waiting' })).toBeGreaterThanOrEqual(1);
      expect((await listing).status).toBe(200);
    } finally {
      release();
      await transaction;
    }
    // Nothing held: nobody waits behind anything but the scrape's own query.
    const idle = await scrape(t);
    expect(valueOf(idle, 'interview_ingest_database_connections', { state: 'waiting' }) + valueOf(idle, 'interview_ingest_database_connections', { state: 'in_use' })).toBeLessThanOrEqual(1);
  });

  it('deletes an interview’s recordings on request, from the object store and the disk, idempotently', async () => {
    const t = (scene.t = await startTestService());
    const interview = await t.createInterview({ durationSeconds: 10 });
    expect((await t.api('DELETE', `/api/interviews/${interview.id}/recordings`)).status).toBe(200);
    const live = await t.createInterview({ durationSeconds: 10 });
    scene.publisher = await publishSynthetic(t, live.id);
    await waitForStatus(t, live.id, 'live', 20_000);
    // Still recording: refused, nothing deleted.
    expect((await t.api('DELETE', `/api/interviews/${live.id}/recordings`)).status).toBe(409);
    const done = await waitForStatus(t, live.id, 'completed', 60_000);
    for (const kind of ['screen', 'candidate'] as const) expect(await objectExists(t, recordingObjectKey(live.id, kind))).toBe(true);

    const deleted = await t.api<{ recordingsDeletedAt: string; screenVideo: string; candidateVideo: string }>('DELETE', `/api/interviews/${live.id}/recordings`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ screenVideo: '', candidateVideo: '', recordingsDeletedAt: expect.any(String) });
    for (const kind of ['screen', 'candidate'] as const) expect(await objectExists(t, recordingObjectKey(live.id, kind))).toBe(false);
    expect(fs.existsSync(path.join(t.dataDir, 'recordings', live.id))).toBe(false);
    expect((await fetch(done.screenVideo, { headers: asAdmin() })).status).toBe(404);
    const again = await t.api<{ recordingsDeletedAt: string }>('DELETE', `/api/interviews/${live.id}/recordings`);
    expect(again).toMatchObject({ status: 200, body: { recordingsDeletedAt: deleted.body.recordingsDeletedAt } });
    expect((await t.api('DELETE', '/api/interviews/00000000-0000-4000-8000-000000000000/recordings')).status).toBe(404);
  });

  it('deletes recordings older than RETENTION_DAYS at start, and keeps younger ones', async () => {
    const dataDir = tempDir();
    let t = (scene.t = await startTestService({ DATA_DIR: dataDir }));
    const [old, young] = [await t.createInterview({ durationSeconds: 10 }), await t.createInterview({ durationSeconds: 10 })];
    const publishers = await Promise.all([publishSynthetic(t, old.id), publishSynthetic(t, young.id)]);
    try {
      await Promise.all([waitForStatus(t, old.id, 'completed', 60_000), waitForStatus(t, young.id, 'completed', 60_000)]);
    } finally {
      await Promise.all(publishers.map((p) => p.close()));
    }
    await t.close({ keepDataDir: true });

    // The first one ended 8 days ago, the second 6 days ago.
    const { database } = await Database.open(path.join(dataDir, 'interview-ingest.sqlite'));
    const em = database.em();
    for (const [id, days] of [[old.id, 8], [young.id, 6]] as const) {
      const row = await em.findOneOrFail(Interview, { id });
      row.completedAt = new Date(Date.now() - days * 86_400_000);
    }
    await em.flush();
    await database.close();

    t = scene.t = await startTestService({ DATA_DIR: dataDir, RETENTION_DAYS: '7' });
    await expect.poll(async () => (await t.api<{ recordingsDeletedAt: string | null }>('GET', `/api/interviews/${old.id}`)).body.recordingsDeletedAt).not.toBeNull();
    expect(await objectExists(t, recordingObjectKey(old.id, 'screen'))).toBe(false);
    expect(await objectExists(t, recordingObjectKey(young.id, 'screen'))).toBe(true);
    expect((await t.api<{ screenVideo: string }>('GET', `/api/interviews/${young.id}`)).body.screenVideo).not.toBe('');
  });
});
