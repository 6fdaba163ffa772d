import { workerCacheEntry } from '../../scripts/mediasoup-worker.mjs';

/**
 * mediasoup reads MEDIASOUP_WORKER_BIN once, when its module loads, so the variable must point at
 * the worker built by scripts/mediasoup-worker.mjs before the first import.
 */
export async function loadMediasoup(): Promise<typeof import('mediasoup')> {
  process.env.MEDIASOUP_WORKER_BIN ||= workerCacheEntry().binary;
  return import('mediasoup');
}
