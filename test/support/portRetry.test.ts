// Child processes that need their port on the command line (redis-server takes port 0 as "no TCP",
// postgres needs one) cannot bind port 0: their harnesses pick a free port and, when something took
// it before the server listened (the race seen in CI), pick again. Forced here: the first port
// handed out is one this test holds open.
import net from 'node:net';
import { afterAll, expect, it, vi } from 'vitest';

// It accepts and never answers, as an unrelated server might: the readiness checks must not hang on it.
const accepted: net.Socket[] = [];
const held = net.createServer((socket) => void accepted.push(socket));
await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', () => resolve()));
const heldPort = (held.address() as net.AddressInfo).port;
let picks = 0;
vi.mock('./testConfig.ts', async (original) => {
  const actual = await original<typeof import('./testConfig.ts')>();
  return { ...actual, freePort: async () => (picks++ === 0 ? heldPort : actual.freePort()) };
});
const { startRedis } = await import('./redis.ts');
const { startPostgres } = await import('./postgres.ts');

afterAll(async () => {
  for (const socket of accepted) socket.destroy();
  await new Promise<void>((resolve) => held.close(() => resolve()));
});

it('redis-server whose port was taken is started on another one, and restarts there', async () => {
  picks = 0;
  const redis = await startRedis();
  try {
    expect(redis.port).not.toBe(heldPort);
    expect(picks).toBe(2);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    await redis.restart();
  } finally {
    await redis.stop();
  }
}, 60_000);

it('postgres whose port was taken is started on another one', async () => {
  picks = 0;
  const postgres = await startPostgres();
  try {
    expect(postgres.port).not.toBe(heldPort);
    expect(picks).toBe(2);
    expect(await postgres.query('postgres', 'select 1 as one')).toEqual([{ one: 1 }]);
  } finally {
    await postgres.stop();
  }
}, 60_000);
