import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import type { DiskSpace } from '../storage/DiskSpace.ts';
import type { Admission } from './Admission.ts';

/**
 * Whether a new interview may be created now; throws the AppError to answer otherwise: 503 while
 * the service drains for a restart or is at capacity, 507 when the disk is nearly full.
 * `place` replaces this node's checks (cluster mode: the node placed to run it, whose PUBLIC_URL
 * the links use; it throws at_capacity when no node has room, CPU and disk alike).
 */
export function newInterviewAdmission(options: {
  draining: () => boolean;
  admission: Admission;
  place?: () => Promise<{ publicUrl: string }>;
  disk: DiskSpace;
  logger: Logger;
}): () => Promise<{ publicUrl: string } | void> {
  const { admission, disk, logger } = options;
  return async () => {
    if (options.draining()) throw new AppError('unavailable', 'the service is restarting; try again in a moment');
    // The placed node's heartbeat already counts its CPU and its disk.
    if (options.place) return options.place();
    admission.admitOne();
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
