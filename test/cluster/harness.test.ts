// The throwaway servers the cluster tests run on: each starts on a free port, answers through a
// maintained client, and leaves neither its process nor its directory behind.
import fs from 'node:fs';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { startPostgres } from '../support/postgres.ts';
import { pingRedis, startRedis } from '../support/redis.ts';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The real user id a process runs as, from /proc. */
function uidOf(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'));
  return Number(line!.split(/\s+/)[1]);
}

describe('the Redis harness', () => {
  it('starts redis-server on a free port, answers PING through the redis client, and stops it by its pid', async () => {
    const started = Date.now();
    const redis = await startRedis();
    console.log(`redis-server ready in ${Date.now() - started} ms`);
    const { pid, dir, url } = redis;
    try {
      expect(isRunning(pid)).toBe(true);
      expect(fs.existsSync(dir)).toBe(true);
      const client = createClient({ url });
      client.on('error', () => {});
      await client.connect();
      try {
        expect(await client.ping()).toBe('PONG');
        await client.set('harness', 'works');
        expect(await client.get('harness')).toBe('works');
        expect(await client.info('server')).toMatch(/redis_version:7\./);
      } finally {
        client.destroy();
      }
    } finally {
      await redis.stop();
    }
    expect(isRunning(pid)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
    expect(await pingRedis(url)).toBe(false);
    // Stopping twice is harmless.
    await redis.stop();
  });

  it('restarts on the same port', async () => {
    const redis = await startRedis();
    try {
      const before = redis.pid;
      await redis.restart();
      expect(redis.pid).not.toBe(before);
      expect(isRunning(before)).toBe(false);
      expect(await pingRedis(redis.url)).toBe(true);
    } finally {
      await redis.stop();
    }
  });
});

describe('the PostgreSQL harness', () => {
  it('runs a PostgreSQL 15 cluster as the postgres user in a temp dir, and stops it by its pid', async () => {
    const started = Date.now();
    const postgres = await startPostgres();
    console.log(`PostgreSQL (initdb + start) ready in ${Date.now() - started} ms`);
    const { pid, dir } = postgres;
    try {
      expect(isRunning(pid)).toBe(true);
      expect(uidOf(pid)).toBe(fs.statSync('/var/lib/postgresql').uid);
      expect(uidOf(pid)).not.toBe(0);
      const [row] = await postgres.query<{ server_version_num: string }>('postgres', 'show server_version_num');
      expect(Number(row!.server_version_num)).toBeGreaterThanOrEqual(150000);
      expect(Number(row!.server_version_num)).toBeLessThan(160000);
      await postgres.createDatabase('harness');
      expect(await postgres.query('harness', 'select 41 + 1 as answer')).toEqual([{ answer: 42 }]);
    } finally {
      await postgres.stop();
    }
    expect(isRunning(pid)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
    await postgres.stop();
  });
});
