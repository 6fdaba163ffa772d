// The client's address in the service's own log lines (README, "Behind a reverse proxy"): each
// answered HTTP request and each signalling connection carries it, as TRUST_PROXY resolves it — the
// address a trusted proxy forwarded, the TCP peer's for anyone else (a forged header is not logged
// as the client).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connected, connectRaw } from '../signaling/signalingClient.ts';
import { waitFor } from '../support/testConfig.ts';
import { capturingLogger, startTestService, type CapturedLog, type TestService } from '../support/testService.ts';

/** GET `path` from `localAddress` with X-Forwarded-For `forwardedFor`; resolves with the status once answered. */
function getFrom(port: number, localAddress: string, path: string, forwardedFor: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, localAddress, path, agent: false, headers: { 'x-forwarded-for': forwardedFor } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('log lines carry the client address TRUST_PROXY resolves (TRUST_PROXY=127.0.0.1)', () => {
  let ts: TestService;
  let port: number;
  let lines: CapturedLog[];

  beforeAll(async () => {
    const captured = capturingLogger('info');
    lines = captured.lines;
    ts = await startTestService({ TRUST_PROXY: '127.0.0.1' }, { logger: captured.logger });
    port = Number(new URL(ts.url).port);
  });

  afterAll(async () => {
    await ts?.close();
  });

  const requestLines = (path: string) => lines.filter((line) => line.msg === 'request answered' && line.path === path);

  it('an HTTP request: the forwarded address through the proxy, the peer from anyone else, and no query string', async () => {
    expect(await getFrom(port, '127.0.0.1', '/api/interviews?limit=1', '10.9.9.9, 198.51.100.31')).toBe(401);
    expect(await getFrom(port, '127.0.0.2', '/api/interviews/00000000-0000-4000-8000-000000000000?sig=secret', '198.51.100.32')).toBe(401);
    // Logged once the answer is sent (onResponse), so polled.
    const logged = (path: string) => waitFor(() => requestLines(path)[0], { what: `${path} logged` });
    const viaProxy = await logged('/api/interviews');
    expect(viaProxy).toMatchObject({ clientAddress: '198.51.100.31', method: 'GET', status: 401 });
    const forged = await logged('/api/interviews/00000000-0000-4000-8000-000000000000');
    expect(forged).toMatchObject({ clientAddress: '127.0.0.2', status: 401 });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('a signalling connection: opened and closed with the forwarded address through the proxy, the peer otherwise', async () => {
    const interview = await ts.createInterview({ durationSeconds: 600 });
    const viaProxy = await connected(connectRaw(ts.url, interview.proctorToken, { localAddress: '127.0.0.1', forwardedFor: '198.51.100.41' }));
    const direct = await connected(connectRaw(ts.url, interview.candidateToken, { localAddress: '127.0.0.2', forwardedFor: '198.51.100.42' }));
    const opened = lines.filter((line) => line.msg === 'signalling connection opened' && line.interviewId === interview.id);
    expect(opened.map((line) => [line.role, line.clientAddress]).sort()).toEqual([
      ['candidate', '127.0.0.2'],
      ['proctor', '198.51.100.41'],
    ]);
    viaProxy.disconnect();
    direct.disconnect();
    const closed = await waitFor(() => {
      const found = lines.filter((line) => line.msg === 'signalling connection closed' && line.interviewId === interview.id);
      return found.length === 2 ? found : undefined;
    }, { what: 'both connections logged as closed' });
    expect(closed.map((line) => [line.role, line.clientAddress]).sort()).toEqual([
      ['candidate', '127.0.0.2'],
      ['proctor', '198.51.100.41'],
    ]);
    // A refused handshake is logged with its address too.
    await expect(connected(connectRaw(ts.url, 'not-a-token', { localAddress: '127.0.0.1', forwardedFor: '198.51.100.43' }))).rejects.toThrow();
    await waitFor(() => lines.some((line) => line.msg === 'signalling connection refused' && line.clientAddress === '198.51.100.43' && line.code === 'unauthorized'), {
      what: 'the refusal logged',
    });
  });
});
