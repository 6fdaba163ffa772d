import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/loadConfig.ts';
import type { Config } from '../../config/Config.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'interview-ingest-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A validated Config for a test: its own temporary DATA_DIR, PORT 0 (the service binds a port the
 * system picks and builds PUBLIC_URL, http://127.0.0.1:<port>, from it: no port is picked before it
 * listens), one mediasoup worker, loopback RTC. `env` overrides any variable, exactly as the
 * environment would.
 */
export async function testConfig(env: Record<string, string> = {}): Promise<Config> {
  return loadConfig(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: tempDir(),
      LOG_LEVEL: 'silent',
      MEDIASOUP_WORKERS: '1',
      RTC_LISTEN_IP: '127.0.0.1',
      // Admission measures the machine, which the suite itself keeps busy: on only where a test asks.
      ADMISSION_MAX_CPU_PERCENT: '0',
      // Tests call the admin API from one address far more often than an operator (and send wrong
      // tokens on purpose): the rate limit is on only where a test asks. A SIGTERM shuts down at once
      // unless a test asks for the drain window.
      ADMIN_RATE_LIMIT_PER_MINUTE: '1000000',
      ADMIN_FAILED_AUTH_PER_MINUTE: '1000000',
      DRAIN_SECONDS: '0',
    // A test's recording lasts seconds: it gets its filmstrip all the same, a tile every 2 s.
    FILMSTRIP_MIN_SECONDS: '0',
    FILMSTRIP_INTERVAL_SECONDS: '2',
      ...env,
    },
    os.tmpdir(),
  );
}

/** Polls `condition` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(condition: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
