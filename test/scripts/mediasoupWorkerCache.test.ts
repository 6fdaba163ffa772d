// The worker cache of scripts/mediasoup-worker.mjs, on a cache of its own (INTERVIEW_INGEST_CACHE in
// a temporary directory) holding a copy of the real built worker: an intact entry is used as it is,
// and every kind of damage the README names is detected as a reason to rebuild. No rebuild is run
// (it takes minutes): what is checked is that the entry is refused, and why.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedWorkerProblem, ensureMediasoupWorker, MEDIASOUP_VERSION, workerCacheEntry } from '../../scripts/mediasoup-worker.mjs';
import { tempDir } from '../support/testConfig.ts';

/** The worker the test suite runs with: the configured binary, or the real cache's. */
const realWorker = process.env.MEDIASOUP_WORKER_BIN ?? workerCacheEntry().binary;

describe('the cached mediasoup worker build', () => {
  const savedCache = process.env.INTERVIEW_INGEST_CACHE;
  let cache = '';
  let entry: ReturnType<typeof workerCacheEntry>;

  /** What a finished build leaves: the binary, then a stamp naming its sha256. */
  function completedBuild(): void {
    fs.mkdirSync(entry.dir, { recursive: true });
    fs.copyFileSync(realWorker, entry.binary);
    fs.chmodSync(entry.binary, 0o755);
    const sha256 = createHash('sha256').update(fs.readFileSync(entry.binary)).digest('hex');
    fs.writeFileSync(entry.stamp, JSON.stringify({ version: MEDIASOUP_VERSION, sha256, builtAt: new Date().toISOString() }));
  }

  beforeEach(() => {
    cache = tempDir('worker-cache-');
    process.env.INTERVIEW_INGEST_CACHE = cache;
    entry = workerCacheEntry();
  });

  afterEach(() => {
    if (savedCache === undefined) delete process.env.INTERVIEW_INGEST_CACHE;
    else process.env.INTERVIEW_INGEST_CACHE = savedCache;
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it('lives under INTERVIEW_INGEST_CACHE, keyed by mediasoup version, platform and arch', () => {
    expect(entry.dir).toBe(path.join(cache, 'mediasoup-worker', `${MEDIASOUP_VERSION}-${process.platform}-${process.arch}`));
    expect(fs.existsSync(realWorker)).toBe(true);
  });

  it('uses an intact entry as it is, without building', () => {
    completedBuild();
    expect(cachedWorkerProblem()).toBeNull();
    const logged: string[] = [];
    expect(ensureMediasoupWorker({ log: (line) => logged.push(line) })).toBe(entry.binary);
    expect(logged).toEqual([]);
  });

  it('rebuilds an empty cache', () => {
    expect(cachedWorkerProblem()).toBe('no completed build in the cache');
  });

  it('rebuilds a half-built entry: a binary with no stamp yet', () => {
    completedBuild();
    fs.rmSync(entry.stamp);
    expect(cachedWorkerProblem()).toBe('no completed build in the cache');
  });

  it('rebuilds an entry whose binary went missing', () => {
    completedBuild();
    fs.rmSync(entry.binary);
    expect(cachedWorkerProblem()).toBe('the stamp exists but the binary is missing');
  });

  it('rebuilds an entry whose stamp is unreadable', () => {
    completedBuild();
    fs.writeFileSync(entry.stamp, '{"version": "3.12.16", "sha2');
    expect(cachedWorkerProblem()).toBe('the stamp is unreadable');
  });

  it('rebuilds a damaged binary (one byte changed) and a stamp naming another hash', () => {
    completedBuild();
    const bytes = fs.readFileSync(entry.binary);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    fs.writeFileSync(entry.binary, bytes);
    expect(cachedWorkerProblem()).toBe('the binary does not match its stamp (damaged)');

    completedBuild();
    const stamp = JSON.parse(fs.readFileSync(entry.stamp, 'utf8')) as { sha256: string };
    fs.writeFileSync(entry.stamp, JSON.stringify({ ...stamp, sha256: '0'.repeat(64) }));
    expect(cachedWorkerProblem()).toBe('the binary does not match its stamp (damaged)');
  });

  it('rebuilds an entry ldd cannot read as a program (a truncated binary with a matching stamp)', () => {
    completedBuild();
    fs.writeFileSync(entry.binary, fs.readFileSync(entry.binary).subarray(0, 4096));
    const sha256 = createHash('sha256').update(fs.readFileSync(entry.binary)).digest('hex');
    fs.writeFileSync(entry.stamp, JSON.stringify({ version: MEDIASOUP_VERSION, sha256 }));
    expect(cachedWorkerProblem()).toBe('ldd cannot read the binary');
  });
});
