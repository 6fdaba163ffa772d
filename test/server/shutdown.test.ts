import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/testService.ts';

// A deploy's SIGTERM must end promptly with exit 0: a client that never finishes its request
// must not hold the shutdown until the forced-exit timer (15 s, exit 1).
describe('graceful shutdown', () => {
  let t: TestService | undefined;
  let client: net.Socket | undefined;
  afterEach(async () => {
    client?.destroy();
    await t?.close();
    t = undefined;
  });

  it('does not wait for a client stuck half-way through a request', async () => {
    t = await startTestService();
    const { port } = new URL(t.url);
    client = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve, reject) => client!.once('connect', resolve).once('error', reject));
    // Headers never completed: the connection is busy, not idle, as far as the HTTP server knows.
    client.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    const clientClosed = new Promise((resolve) => client!.once('close', () => resolve('closed by the server')));

    const startedAt = Date.now();
    await t.service.close();
    const ms = Date.now() - startedAt;
    console.log(`shutdown with a stuck client: ${ms} ms`);
    expect(ms).toBeLessThan(8000);
    // Closed by the server, not left open behind a shutdown that gave up on the HTTP step.
    const stillOpen = new Promise((resolve) => setTimeout(() => resolve('still open'), 2000).unref());
    expect(await Promise.race([clientClosed, stillOpen])).toBe('closed by the server');
    expect(t.service.closingStep).toBeUndefined();
  });
});
