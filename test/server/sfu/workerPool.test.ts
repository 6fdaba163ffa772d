import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../../server/sfu/WorkerPool.ts';
import { waitFor } from '../../support/testConfig.ts';

describe('mediasoup worker pool', () => {
  let pool: WorkerPool;
  beforeAll(async () => {
    pool = await WorkerPool.create({ size: 2, rtcMinPort: 46000, rtcMaxPort: 46999, logger: pino({ level: 'silent' }) });
  });
  afterAll(() => pool?.close());

  it('creates routers that speak VP9, VP8 and Opus', async () => {
    const router = await pool.createRouter();
    const mimeTypes = router.rtpCapabilities.codecs!.map((codec) => codec.mimeType);
    expect(mimeTypes).toEqual(expect.arrayContaining(['video/VP9', 'video/VP8', 'audio/opus']));
    const transport = await router.createWebRtcTransport({ listenIps: [{ ip: '127.0.0.1' }], enableUdp: true, enableTcp: true });
    expect(transport.iceCandidates.length).toBeGreaterThan(0);
    router.close();
  });

  it('spreads routers over the least-loaded workers', async () => {
    const routers = await Promise.all([pool.createRouter(), pool.createRouter()]);
    const pids = new Set(pool.workers.map((w) => w.pid));
    expect(pids.size).toBe(2);
    const dumps = await Promise.all(pool.workers.map((w) => w.dump()));
    expect(dumps.map((d) => d.routerIds.length).sort()).toEqual([1, 1]);
    routers.forEach((r) => r.close());
  });

  it('replaces a worker that dies', async () => {
    const victim = pool.workers[0]!;
    const died = new Promise((resolve) => pool.once('workerDied', resolve));
    process.kill(victim.pid, 'SIGKILL');
    expect(await died).toBe(victim);
    await waitFor(() => pool.isUp() && pool.workers[0]!.pid !== victim.pid, { what: 'a replacement worker' });
    const router = await pool.createRouter();
    expect(router.closed).toBe(false);
    router.close();
  });
});
