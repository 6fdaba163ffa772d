import type { types } from 'mediasoup';
import { pino, type Logger } from 'pino';
import { WorkerPool } from '../../server/sfu/WorkerPool.ts';

/**
 * A real mediasoup worker and router with the service's codecs, for recorder tests. Each test
 * file gets its own worker; the port range stays clear of the other test files' ranges.
 */
export async function startMediaRouter(logger: Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })): Promise<{ router: types.Router; pool: WorkerPool; close(): void }> {
  const pool = await WorkerPool.create({ size: 1, rtcMinPort: 20000, rtcMaxPort: 29999, logger });
  const router = await pool.createRouter();
  return { router, pool, close: () => pool.close() };
}

export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}
