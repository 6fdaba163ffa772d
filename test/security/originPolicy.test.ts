// Which browser pages may use the service (README, "Security" and "Embedding in your app"): the
// origins in EMBED_ORIGINS, the service's own, and nothing else — over socket.io's WebSocket and
// polling transports alike, on the /session routes (CORS), and for framing the candidate's pages.
import net from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SIGNALING_NAMESPACE } from '../../shared/protocol.ts';
import { request } from '../signaling/signalingClient.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';

const HOST_APP = 'http://host-app.test:8080';
const EVIL = 'http://evil.example';

type Transport = 'websocket' | 'polling';

/** A socket.io client that sends `origin` as its Origin header (as a browser page of that origin would); none when undefined. */
function connectFrom(url: string, token: string, transport: Transport, origin: string | undefined): Socket {
  return io(`${url}${SIGNALING_NAMESPACE}`, {
    auth: { token },
    transports: [transport],
    reconnection: false,
    forceNew: true,
    ...(origin ? { extraHeaders: { Origin: origin } } : {}),
  });
}

/** How the handshake ended: connected, or the connect_error's message. */
function outcome(socket: Socket): Promise<'connected' | string> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (error) => resolve(error.message));
  });
}

/** One raw engine.io polling handshake with the given headers: its status and response headers. */
function pollingHandshake(port: number, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const lines = ['GET /socket.io/?EIO=4&transport=polling HTTP/1.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const head = data.slice(0, data.indexOf('\r\n\r\n')).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const parsed = Object.fromEntries(head.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status, headers: parsed });
    });
  });
}

const frameAncestorsOf = (response: Response) => /frame-ancestors ([^;]+)/.exec(response.headers.get('content-security-policy') ?? '')?.[1];

describe('the origin policy, with EMBED_ORIGINS set', () => {
  let t: TestService;
  let interview: CreatedInterview;
  let other: CreatedInterview;
  const sockets: Socket[] = [];
  const open = (token: string, transport: Transport, origin: string | undefined) => {
    const socket = connectFrom(t.url, token, transport, origin);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    t = await startTestService({ EMBED_ORIGINS: HOST_APP });
    [interview, other] = await Promise.all([t.createInterview(), t.createInterview()]);
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  afterAll(() => t?.close());

  describe.each<Transport>(['websocket', 'polling'])('socket.io over %s', (transport) => {
    it('refuses a handshake from another origin, even with a valid proctor token', async () => {
      expect(await outcome(open(interview.proctorToken, transport, EVIL))).not.toBe('connected');
    });

    it('accepts a page of an embedding origin, of its own origin, and a client that sends no Origin (not a browser)', async () => {
      expect(await outcome(open(interview.candidateToken, transport, HOST_APP))).toBe('connected');
      expect(await outcome(open(interview.proctorToken, transport, t.url))).toBe('connected');
      expect(await outcome(open(interview.proctorToken, transport, undefined))).toBe('connected');
    });

    it("leaves the connections already open alone, this interview's and another's", async () => {
      const mine = open(interview.proctorToken, transport, HOST_APP);
      const theirs = open(other.proctorToken, transport, undefined);
      expect([await outcome(mine), await outcome(theirs)]).toEqual(['connected', 'connected']);
      const refused = await Promise.all(Array.from({ length: 20 }, () => outcome(open(interview.proctorToken, transport, EVIL))));
      expect(refused.filter((result) => result === 'connected')).toEqual([]);
      for (const socket of [mine, theirs]) {
        expect(socket.connected).toBe(true);
        expect(await request(socket, 'join', { interviewId: socket === mine ? interview.id : other.id })).toMatchObject({ ok: true });
      }
    });
  });

  it('answers a polling handshake from an embedding origin with CORS headers for it, and refuses another origin with 403 and none', async () => {
    const port = Number(new URL(t.url).port);
    const allowed = await pollingHandshake(port, { Host: `127.0.0.1:${port}`, Origin: HOST_APP });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(HOST_APP);
    expect(allowed.headers['access-control-allow-credentials']).toBeUndefined();
    const refused = await pollingHandshake(port, { Host: `127.0.0.1:${port}`, Origin: EVIL });
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('takes a page whose Origin names the very Host it reached as same-origin (a proxy whose name is not PUBLIC_URL)', async () => {
    const port = Number(new URL(t.url).port);
    expect((await pollingHandshake(port, { Host: 'ingest.internal:4443', Origin: 'https://ingest.internal:4443' })).status).toBe(200);
    expect((await pollingHandshake(port, { Host: 'ingest.internal:4443', Origin: 'https://ingest.internal:4444' })).status).toBe(403);
  });

  describe('CORS on GET /session/:id/recording', () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/session/${interview.id}/recording`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const get = (origin: string) => fetch(`${t.url}/session/${interview.id}/recording`, { headers: { origin, authorization: `Bearer ${interview.candidateToken}` } });

    it('lets an embedding origin send its role token (preflight) and read the answer', async () => {
      const answer = await preflight(HOST_APP);
      expect(answer.status).toBe(204);
      expect({
        origin: answer.headers.get('access-control-allow-origin'),
        methods: answer.headers.get('access-control-allow-methods'),
        headers: answer.headers.get('access-control-allow-headers')?.toLowerCase(),
        vary: answer.headers.get('vary'),
      }).toEqual({ origin: HOST_APP, methods: 'GET', headers: 'authorization', vary: 'Origin' });
      const response = await get(HOST_APP);
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(HOST_APP);
      expect(await response.json()).toMatchObject({ id: interview.id, status: 'created' });
    });

    it('gives another origin no CORS header, on the preflight or the answer', async () => {
      const answer = await preflight(EVIL);
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      expect(answer.headers.get('access-control-allow-headers')).toBeNull();
      const response = await get(EVIL);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  it("lets the embedding origins frame the candidate's pages (live and end), and nobody frame the others", async () => {
    const page = (path: string) => fetch(`${t.url}${path}`);
    expect(frameAncestorsOf(await page(`/interview/${interview.id}`))).toBe(`'self' ${HOST_APP}`);
    expect(frameAncestorsOf(await page(`/interview/end/${interview.id}`))).toBe(`'self' ${HOST_APP}`);
    for (const path of [`/proctor/${interview.id}`, `/review/${interview.id}`, '/admin', '/']) expect(frameAncestorsOf(await page(path)), path).toBe("'none'");
  });
});

describe('the origin policy, without EMBED_ORIGINS', () => {
  let t: TestService;
  let interview: CreatedInterview;
  beforeAll(async () => {
    t = await startTestService();
    interview = await t.createInterview();
  });
  afterAll(() => t?.close());

  it('lets no page be framed', async () => {
    for (const path of [`/interview/${interview.id}`, `/interview/end/${interview.id}`, `/proctor/${interview.id}`]) {
      expect(frameAncestorsOf(await fetch(`${t.url}${path}`)), path).toBe("'none'");
    }
  });

  it('accepts socket.io only from its own origin (or no Origin)', async () => {
    const results = [];
    for (const origin of [t.url, undefined, HOST_APP]) {
      const socket = connectFrom(t.url, interview.proctorToken, 'websocket', origin);
      results.push(await outcome(socket));
      socket.disconnect();
    }
    expect(results.map((result) => result === 'connected')).toEqual([true, true, false]);
  });
});
