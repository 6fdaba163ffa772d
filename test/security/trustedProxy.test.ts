import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/testService.ts';

const MAX_PER_IP = 2;
const FAILED_AUTH_PER_MINUTE = 2;

/** GET /api/interviews with a wrong admin token from `localAddress`, claiming `forwardedFor`; the status. */
function wrongTokenStatus(port: number, localAddress: string, forwardedFor: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: 'Bearer not-the-admin-token-at-all', 'x-forwarded-for': forwardedFor };
    const request = http.request({ host: '127.0.0.1', port, localAddress, path: '/api/interviews', agent: false, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

/** An engine.io polling handshake from `localAddress` carrying `forwardedFor` as X-Forwarded-For; its HTTP status. */
function handshakeStatus(port: number, localAddress: string, forwardedFor?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
    const request = http.request({ host: '127.0.0.1', port, localAddress, path: '/socket.io/?EIO=4&transport=polling', agent: false, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

/** Opens handshakes until one is refused (at most `max` + 1): how many were admitted. */
async function admittedFrom(port: number, localAddress: string, forwardedFor: () => string | undefined, max = MAX_PER_IP): Promise<number> {
  for (let admitted = 0; admitted <= max; admitted++) {
    const status = await handshakeStatus(port, localAddress, forwardedFor());
    if (status !== 200) {
      expect(status).toBe(403);
      return admitted;
    }
  }
  return max + 1;
}

describe('behind a trusted reverse proxy (TRUST_PROXY=127.0.0.1) the per-address cap counts the client it forwarded', () => {
  let ts: TestService;
  let port: number;

  beforeAll(async () => {
    ts = await startTestService({ MAX_CONNECTIONS_PER_IP: String(MAX_PER_IP), TRUST_PROXY: '127.0.0.1' });
    port = Number(new URL(ts.url).port);
  });

  afterAll(async () => {
    await ts?.close();
  });

  it('counts each forwarded client on its own: one at its cap leaves the next one through the same proxy admitted', async () => {
    expect(await admittedFrom(port, '127.0.0.1', () => '198.51.100.1')).toBe(MAX_PER_IP);
    expect(await handshakeStatus(port, '127.0.0.1', '198.51.100.2')).toBe(200);
  });

  it('reads the header from the right: an address the client put in front of the proxy\'s does not move it off its count', async () => {
    expect(await admittedFrom(port, '127.0.0.1', () => '198.51.100.3')).toBe(MAX_PER_IP);
    expect(await handshakeStatus(port, '127.0.0.1', '203.0.113.50, 198.51.100.3')).toBe(403);
  });

  it('ignores X-Forwarded-For from a peer that is not the proxy: forged addresses all count as that peer', async () => {
    let n = 0;
    expect(await admittedFrom(port, '127.0.0.2', () => `203.0.113.${++n}`)).toBe(MAX_PER_IP);
    // Nor does a forged header use up a real client's share.
    expect(await admittedFrom(port, '127.0.0.1', () => '203.0.113.1')).toBe(MAX_PER_IP);
  });
});

describe('behind a trusted reverse proxy the admin API rate limit counts the forwarded client too', () => {
  let ts: TestService;
  let port: number;

  beforeAll(async () => {
    ts = await startTestService({ TRUST_PROXY: '127.0.0.1', ADMIN_FAILED_AUTH_PER_MINUTE: String(FAILED_AUTH_PER_MINUTE) });
    port = Number(new URL(ts.url).port);
  });

  afterAll(async () => {
    await ts?.close();
  });

  it('stops one forwarded client guessing tokens, not the next one through the proxy; forged headers from elsewhere count as their peer', async () => {
    const guesses = async (localAddress: string, forwardedFor: () => string) => {
      const statuses: number[] = [];
      for (let i = 0; i <= FAILED_AUTH_PER_MINUTE; i++) statuses.push(await wrongTokenStatus(port, localAddress, forwardedFor()));
      return statuses;
    };
    expect(await guesses('127.0.0.1', () => '198.51.100.20')).toEqual([401, 401, 429]);
    expect(await wrongTokenStatus(port, '127.0.0.1', '198.51.100.21')).toBe(401);
    let n = 0;
    expect(await guesses('127.0.0.2', () => `203.0.113.${++n}`)).toEqual([401, 401, 429]);
  });
});

describe('without TRUST_PROXY no header is believed', () => {
  let ts: TestService;

  beforeAll(async () => {
    ts = await startTestService({ MAX_CONNECTIONS_PER_IP: String(MAX_PER_IP) });
  });

  afterAll(async () => {
    await ts?.close();
  });

  it('counts every connection of one peer together, whatever X-Forwarded-For each one claims', async () => {
    let n = 0;
    expect(await admittedFrom(Number(new URL(ts.url).port), '127.0.0.1', () => `198.51.100.${++n}`)).toBe(MAX_PER_IP);
  });
});
