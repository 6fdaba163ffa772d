// The disk fills up while an interview records: DATA_DIR on a small tmpfs of its own, and a file
// allocated on it takes the free space below MIN_FREE_DISK_MB mid-recording. New interviews are
// refused (507), /healthz says `disk` is down with the numbers, and the running interview keeps
// recording and is delivered.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishSynthetic, waitForRecordedBytes, waitForStatus } from '../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';
import { capturingLogger, startTestService, type TestService } from '../support/testService.ts';

const MiB = 1024 * 1024;
const DISK_MB = 256;
const MIN_FREE_MB = 128;

interface Health {
  status: string;
  disk: { ok: boolean; path: string; freeBytes: number; minFreeBytes: number };
}

describe('when the disk crosses MIN_FREE_DISK_MB while an interview records', () => {
  let t: TestService | undefined;
  let publisher: SyntheticPublisher | undefined;
  let mountPoint: string | undefined;

  afterEach(async () => {
    await publisher?.close();
    await t?.close();
    if (mountPoint) {
      execFileSync('umount', [mountPoint]);
      fs.rmSync(mountPoint, { recursive: true, force: true });
    }
    publisher = undefined;
    t = undefined;
    mountPoint = undefined;
  });

  it('refuses new interviews with 507 and reports the disk down, while the running one keeps recording and completes', async () => {
    const directory = tempDir('disk-threshold-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_MB}m`, 'tmpfs', directory]);
    mountPoint = directory;
    const dataDir = path.join(mountPoint, 'data');
    const log = capturingLogger();
    t = await startTestService({ DATA_DIR: dataDir, MIN_FREE_DISK_MB: String(MIN_FREE_MB) }, { logger: log.logger });
    const health = async () => {
      const response = await fetch(`${t!.url}/healthz`);
      return { status: response.status, body: (await response.json()) as Health };
    };
    expect((await health()).status).toBe(200);

    const running = await t.createInterview({ durationSeconds: 120 });
    publisher = await publishSynthetic(t, running.id);
    await waitForStatus(t, running.id, 'live', 20_000);
    await waitForRecordedBytes(t, running.id, 200_000);

    // The disk fills up: all but MIN_FREE_MB / 2 of what is free goes to one file.
    const free = (await health()).body.disk.freeBytes;
    execFileSync('fallocate', ['-l', String(free - (MIN_FREE_MB / 2) * MiB), path.join(directory, 'filler')]);
    const full = await health();
    console.log(`disk after filling: ${JSON.stringify(full.body.disk)}`);
    expect(full.status).toBe(503);
    expect(full.body.disk).toMatchObject({ ok: false, path: dataDir, minFreeBytes: MIN_FREE_MB * MiB });
    expect(full.body.disk.freeBytes).toBeLessThan(MIN_FREE_MB * MiB);

    const refused = await t.api<{ error: string; message: string }>('POST', '/api/interviews', { durationSeconds: 60 });
    expect(refused.status).toBe(507);
    expect(refused.body).toMatchObject({ error: 'insufficient_storage', message: expect.stringMatching(/MIN_FREE_DISK_MB/) });
    expect(log.lines.some((line) => line.level === 40 && /below MIN_FREE_DISK_MB/.test(line.msg))).toBe(true);

    // The running interview goes on: still live, its files growing on every track.
    const recording = (await t.service.sessions.get(running.id)?.recording)!;
    const before = await recording.stats();
    await waitFor(async () => (await recording.stats()).bytesWritten.screen > before.bytesWritten.screen + 300_000, {
      timeoutMs: 10_000,
      what: 'the running recording to keep growing on the full disk',
    });
    const after = await recording.stats();
    expect(after.bytesWritten.candidate).toBeGreaterThan(before.bytesWritten.candidate);
    expect(after.segments).toEqual(before.segments);
    expect((await t.api<{ status: string }>('GET', `/api/interviews/${running.id}`)).body.status).toBe('live');

    expect((await t.api('POST', `/api/interviews/${running.id}/end`, {})).status).toBe(200);
    const done = await waitForStatus(t, running.id, ['completed', 'failed'], 60_000);
    expect(done).toMatchObject({ status: 'completed', failureReason: null });
    expect(done.screenVideo).not.toBe('');

    // Space again: new interviews are accepted.
    fs.rmSync(path.join(directory, 'filler'));
    expect((await health()).status).toBe(200);
    expect((await t.api('POST', '/api/interviews', { durationSeconds: 60 })).status).toBe(201);
  });
});
