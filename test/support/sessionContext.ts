import path from 'node:path';
import type { Logger } from 'pino';
import { finalizeRecording } from '../../recorder-pipeline/finalize/finalizeRecording.ts';
import type { Database } from '../../server/db/Database.ts';
import { InterviewService } from '../../server/lifecycle/InterviewService.ts';
import type { SessionContext } from '../../server/session/InterviewSession.ts';
import { InterviewRoom } from '../../server/sfu/InterviewRoom.ts';
import type { WorkerPool } from '../../server/sfu/WorkerPool.ts';
import { ObjectStore } from '../../server/storage/ObjectStore.ts';

const testRoomTransport = { listenIp: { ip: '127.0.0.1' }, maxIncomingBitrate: 5_000_000, initialAvailableOutgoingBitrate: 1_000_000 };

/**
 * Sessions on a real database and real mediasoup workers, without a service around them. The
 * object store is never reached unless an interview is delivered (these tests end none).
 */
export function sessionContext(options: { database: Database; workers: WorkerPool; logger: Logger; directory: string; idleCloseMs?: number }): SessionContext {
  return {
    database: options.database,
    interviews: new InterviewService(options.database),
    objectStore: new ObjectStore({ endpoint: 'http://127.0.0.1:9', region: 'auto', bucket: 'unused', accessKeyId: 'x', secretAccessKey: 'x', publicBaseUrl: undefined }),
    createRoom: (interviewId) =>
      InterviewRoom.create({ interviewId, workers: options.workers, transport: testRoomTransport, logger: options.logger, ...(options.idleCloseMs ? { idleCloseMs: options.idleCloseMs } : {}) }),
    recordingDirOf: (interviewId) => path.join(options.directory, 'recordings', interviewId),
    rtcPortRange: { min: 1, max: 1 },
    finalizeRecording: async (directory) => {
      const finalized = await finalizeRecording(directory, { logger: options.logger });
      return { screen: finalized.screenPath, candidate: finalized.candidatePath };
    },
    partSizeBytes: 5 * 1024 * 1024,
    retryWindowMs: 1000,
    publicUrl: 'http://127.0.0.1',
    progressiveUpload: false,
    journalIntervalMs: 0,
    logger: options.logger,
  };
}
