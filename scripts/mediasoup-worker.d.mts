export const MEDIASOUP_VERSION: string;
export function cacheRoot(): string;
export function workerCacheEntry(): { dir: string; binary: string; stamp: string };
export function cachedWorkerProblem(): string | null;
export function ensureMediasoupWorker(options?: { log?: (line: string) => void }): string;
