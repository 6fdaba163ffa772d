import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import type { DiskSpace } from '../storage/DiskSpace.ts';
import type { Admission } from './Admission.ts';

/**
 * Whether a new interview may be created now; throws the AppError to answer otherwise: 503 while
 * the service drains for a restart or is at capacity, 507 when the disk is nearly full.
 * `admitOne` overrides this node's admission (cluster mode: some node of the cluster has room).
 */
export function newInterviewAdmission(options: {
  draining: () => boolean;
  admission: Admission;
  admitOne?: () => unknown;
  disk: DiskSpace;
  logger: Logger;
}): () => Promise<void> {
  const { admission, disk, logger } = options;
  return async () => {
    if (options.draining()) throw new AppError('unavailable', 'the service is restarting; try again in a moment');
    if (options.admitOne) await options.admitOne();
    else admission.admitOne();
    const space = await disk.check();
    if (!space.ok) {
      logger.warn({ disk: space }, 'new interview refused: the disk is nearly full');
      throw new AppError(
        'insufficient_storage',
        `the recording disk is nearly full (${Math.floor(space.freeBytes / 1048576)} MB free, MIN_FREE_DISK_MB is ${Math.floor(space.minFreeBytes / 1048576)}); new interviews are refused`,
      );
    }
  };
}
