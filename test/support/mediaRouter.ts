import fs from 'node:fs';
import type { types } from 'mediasoup';
import { afterAll, beforeAll } from 'vitest';
import { pino, type Logger } from 'pino';
import { WorkerPool } from '../../server/sfu/WorkerPool.ts';
import { tempDir } from './testConfig.ts';
import { randomRtcPorts } from './rtcPorts.ts';

/**
 * A real mediasoup worker and router with the service's codecs, for recorder tests. Each test
 * file gets its own worker, on a slice of RTC ports like a test service's (see randomRtcPorts).
 */
export async function startMediaRouter(logger: Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })): Promise<{ router: types.Router; pool: WorkerPool; close(): void }> {
  const pool = await startTestWorkerPool(logger);
  const router = await pool.createRouter();
  return { router, pool, close: () => pool.close() };
}

/** One real mediasoup worker on its own slice of RTC ports (see randomRtcPorts). */
export async function startTestWorkerPool(logger: Logger): Promise<WorkerPool> {
  const ports = randomRtcPorts();
  return WorkerPool.create({ size: 1, rtcMinPort: Number(ports.RTC_MIN_PORT), rtcMaxPort: Number(ports.RTC_MAX_PORT), logger });
}

export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

/**
 * For a describe block of recorder tests: a router started before the tests, and temporary
 * recording directories removed after them. Read `router` inside tests (it is set in beforeAll).
 */
export function useRecorderMedia(): { readonly router: types.Router; recordingDir: () => string } {
  let media: Awaited<ReturnType<typeof startMediaRouter>> | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    media = await startMediaRouter();
  });
  afterAll(() => {
    media?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    get router() {
      if (!media) throw new Error('the media router starts in beforeAll');
      return media.router;
    },
    recordingDir() {
      const dir = tempDir('recording-');
      dirs.push(dir);
      return dir;
    },
  };
}
