import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { Database } from '../../server/db/Database.ts';
import type { Logger } from 'pino';
import { InterviewService } from '../../server/lifecycle/InterviewService.ts';
import type { SessionContext } from '../../server/session/SessionContext.ts';
import { InterviewRoom } from '../../server/sfu/InterviewRoom.ts';
import type { WorkerPool } from '../../server/sfu/WorkerPool.ts';
import { ObjectStore } from '../../server/storage/ObjectStore.ts';
import { startTestWorkerPool } from './mediaRouter.ts';
import { tempDir } from './testConfig.ts';

const testRoomTransport = { listenIp: { ip: '127.0.0.1' }, maxIncomingBitrate: 5_000_000, initialAvailableOutgoingBitrate: 1_000_000 };

/**
 * Sessions on a real database and real mediasoup workers, without a service around them. The
 * object store is never reached unless an interview is delivered (these tests end none).
 */
function sessionContext(options: { database: Database; workers: WorkerPool; logger: Logger; directory: string; idleCloseMs?: number }): SessionContext {
  return {
    database: options.database,
    interviews: new InterviewService(options.database),
    objectStore: new ObjectStore({ endpoint: 'http://127.0.0.1:9', region: 'auto', bucket: 'unused', accessKeyId: 'x', secretAccessKey: 'x', publicBaseUrl: undefined }),
    createRoom: (interviewId) =>
      InterviewRoom.create({ interviewId, workers: options.workers, transport: testRoomTransport, logger: options.logger, ...(options.idleCloseMs ? { idleCloseMs: options.idleCloseMs } : {}) }),
    recordingDirOf: (interviewId) => path.join(options.directory, 'recordings', interviewId),
    rtcPortRange: { min: 1, max: 1 },
    partSizeBytes: 5 * 1024 * 1024,
    retryWindowMs: 1000,
    publicUrl: 'http://127.0.0.1',
    progressiveUpload: false,
    journalIntervalMs: 0,
    nodeId: 'session-testbed',
    logger: options.logger,
  };
}

/**
 * For a describe block: real mediasoup workers and a real SQLite database in a temp dir, started
 * before its tests and stopped (the dir removed) after them. `context()` makes sessions' context.
 */
export function useSessionTestbed(): { context: (options?: { idleCloseMs?: number }) => SessionContext } {
  const logger = pino({ level: 'silent' });
  const directory = tempDir();
  let workers: WorkerPool;
  let database: Database;
  beforeAll(async () => {
    workers = await startTestWorkerPool(logger);
    ({ database } = await Database.open(path.join(directory, 'db.sqlite')));
  });
  afterAll(async () => {
    workers?.close();
    await database?.close();
    fs.rmSync(directory, { recursive: true, force: true });
  });
  return { context: (options = {}) => sessionContext({ database, workers, logger, directory, ...options }) };
}
