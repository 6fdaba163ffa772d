import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RoleTokens } from '../../server/auth/RoleTokens.ts';
import { request, type RawSocket } from '../signaling/signalingClient.ts';
import { randomRtcPorts } from '../support/rtcPorts.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';
import { engineSessionOpen, openEngineSession, outcomeOf, polling, signalingFrom } from './rawClients.ts';

const MAX_PER_IP = 20;

describe('nothing is held without a valid token, and no link or address holds more than its share', () => {
  let ts: TestService;
  let port: number;
  let interview: CreatedInterview;
  const open: RawSocket[] = [];

  const connectFrom = async (address: string, token: unknown, namespace?: string) => {
    const outcome = await outcomeOf(signalingFrom(ts.url, address, token, namespace));
    if (outcome.kind === 'connected') open.push(outcome.socket);
    return outcome;
  };

  beforeAll(async () => {
    ts = await startTestService({ MAX_CONNECTIONS_PER_IP: String(MAX_PER_IP), MAX_PROCTORS_PER_INTERVIEW: '3' });
    port = Number(new URL(ts.url).port);
    interview = await ts.createInterview();
  });

  afterEach(() => {
    for (const socket of open.splice(0)) socket.disconnect();
  });

  afterAll(async () => {
    await ts?.close();
  });

  it('refuses the default namespace and closes the connection under it at once', async () => {
    // Before: 1,000 of 1,000 such connections held for minutes.
    const sid = (await openEngineSession(port, '127.0.0.11'))!;
    expect(await polling(port, '127.0.0.11', `&sid=${sid}`, '40')).toMatchObject({ status: 200 });
    const answer = await polling(port, '127.0.0.11', `&sid=${sid}`);
    expect(answer.body).toMatch(/^44\{.*"code":"not_found"/);
    await waitFor(async () => !(await engineSessionOpen(port, '127.0.0.11', sid)), { timeoutMs: 1000, intervalMs: 20, what: 'the refused connection to be closed' });
  });

  it('refuses a flood of 2,000 tokenless connections and holds none of them', async () => {
    const baseline = ts.service.io.engine.clientsCount;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, ts.service.io.engine.clientsCount)), 10);
    const answers = new Map<string, number>();
    let next = 0;
    const started = Date.now();
    const attempt = async (): Promise<void> => {
      while (next < 2000) {
        const namespace = next++ % 2 === 0 ? '/' : undefined;
        const outcome = await outcomeOf(signalingFrom(ts.url, '127.0.0.17', undefined, namespace));
        // Each namespace's own refusal: the default one is not found, signalling without a token unauthorized.
        const key = `${namespace ?? 'signalling'}: ${outcome.kind === 'connected' ? 'connected' : (outcome.code ?? 'transport refused')}`;
        answers.set(key, (answers.get(key) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 50 }, attempt));
    clearInterval(sampler);
    console.log(`2,000 tokenless connections in ${Date.now() - started} ms: ${JSON.stringify(Object.fromEntries(answers))}; server connections peaked at ${peak} (baseline ${baseline})`);
    const count = (key: string) => answers.get(key) ?? 0;
    expect([...answers.keys()].filter((key) => !['/: not_found', '/: transport refused', 'signalling: unauthorized', 'signalling: transport refused'].includes(key))).toEqual([]);
    expect(count('/: not_found') + count('/: transport refused')).toBe(1000);
    expect(count('signalling: unauthorized') + count('signalling: transport refused')).toBe(1000);
    expect(count('/: not_found')).toBeGreaterThan(0);
    expect(count('signalling: unauthorized')).toBeGreaterThan(0);
    expect(peak - baseline).toBeLessThanOrEqual(MAX_PER_IP);
    await waitFor(() => ts.service.io.engine.clientsCount <= baseline, { timeoutMs: 2000, what: 'every refused connection closed' });
  });

  it('closes a connection that joins no namespace after the connect timeout (5 s), not minutes', async () => {
    const sid = (await openEngineSession(port, '127.0.0.12'))!;
    const opened = Date.now();
    // One long poll, which the server holds until it closes the session (bounded here: a session
    // never closed would answer a ping only after 25 s).
    let deadline: NodeJS.Timeout | undefined;
    const held = await Promise.race([polling(port, '127.0.0.12', `&sid=${sid}`), new Promise<undefined>((resolve) => (deadline = setTimeout(() => resolve(undefined), 8000)))]);
    clearTimeout(deadline);
    const heldMs = Date.now() - opened;
    console.log(`an engine.io connection that joined no namespace was closed after ${heldMs} ms`);
    // engine.io's close packet, at the connect timeout: not before it, not minutes after.
    expect(held).toEqual({ status: 200, body: '1' });
    expect(heldMs).toBeGreaterThanOrEqual(4500);
    expect(heldMs).toBeLessThan(7000);
    expect(await polling(port, '127.0.0.12', `&sid=${sid}`)).toEqual({ status: 400, body: '{"code":1,"message":"Session ID unknown"}' });
  });

  it('caps the connections one address holds; another address is unaffected', async () => {
    const sessions: string[] = [];
    for (let i = 0; i < MAX_PER_IP; i++) sessions.push((await openEngineSession(port, '127.0.0.13'))!);
    expect(sessions.every(Boolean)).toBe(true);
    expect((await polling(port, '127.0.0.13', '')).status).toBe(403);
    expect(await openEngineSession(port, '127.0.0.14')).toBeTruthy();
    // A connection that closes (engine.io close packet) gives its place back.
    expect((await polling(port, '127.0.0.13', `&sid=${sessions[0]}`, '1')).status).toBe(200);
    await waitFor(async () => Boolean(await openEngineSession(port, '127.0.0.13')), { timeoutMs: 3000, intervalMs: 50, what: 'the address to be admitted again' });
  });

  it('gives a proctor link at most its seats; a refused one gets limit_reached, and a seat comes back when one leaves', async () => {
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await connectFrom('127.0.0.15', interview.proctorToken));
    expect(outcomes.map((o) => (o.kind === 'connected' ? 'connected' : o.code))).toEqual(['connected', 'connected', 'connected', 'limit_reached', 'limit_reached']);
    const refused = outcomes[3]!;
    expect(refused.kind === 'refused' && refused.message).toMatch(/already has 3 proctor connections/);
    // The candidate is not a proctor: still admitted.
    expect((await connectFrom('127.0.0.15', interview.candidateToken)).kind).toBe('connected');
    open.shift()!.disconnect();
    await waitFor(async () => (await connectFrom('127.0.0.15', interview.proctorToken)).kind === 'connected', { timeoutMs: 5000, what: 'a freed proctor seat' });
  });

  it('tells a socket whose link expires so, and disconnects it at the expiry', async () => {
    const key = JSON.parse(fs.readFileSync(path.join(ts.dataDir, 'secrets.json'), 'utf8')).roleTokenKey;
    const token = new RoleTokens(key).issue(interview.id, 'proctor', 3);
    const expiresAt = Math.floor(Date.now() / 1000) * 1000 + 3000;
    const outcome = await connectFrom('127.0.0.16', token);
    expect(outcome.kind).toBe('connected');
    const socket = (outcome as { socket: RawSocket }).socket;
    let told = 0;
    socket.on('linkExpired' as never, () => {
      told = Date.now();
    });
    const disconnected = new Promise<[string, number]>((resolve) => socket.once('disconnect', (reason) => resolve([reason, Date.now()])));
    expect(await request(socket, 'join', { interviewId: interview.id })).toMatchObject({ ok: true });
    expect(await request(socket, 'createTransport', { direction: 'recv' })).toMatchObject({ ok: true });
    // Before: join, createTransport and endInterview went on working after the expiry.
    const [reason, at] = await disconnected;
    expect(reason).toBe('io server disconnect');
    expect(told).toBeGreaterThan(0);
    expect(Math.abs(at - expiresAt)).toBeLessThan(1500);
    expect((await connectFrom('127.0.0.16', token)).kind === 'refused').toBe(true);
  });
});

describe('a media worker out of ports', () => {
  let ts: TestService;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    // Six ports: six WebRTC transports (one UDP and one TCP port each), then none.
    const slice = Number(randomRtcPorts().RTC_MIN_PORT);
    // Range mode: there every WebRTC transport takes ports of its own (single-port mode shares one).
    ts = await startTestService({ RTC_PORT_MODE: 'range', RTC_MIN_PORT: String(slice), RTC_MAX_PORT: String(slice + 5), MAX_PROCTORS_PER_INTERVIEW: '10' });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await ts?.close();
  });

  it('answers unavailable (not internal) and /healthz shows no port headroom (503) until ports are free again', async () => {
    const interview = await ts.createInterview();
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const outcome = await outcomeOf(signalingFrom(ts.url, '127.0.0.1', interview.proctorToken));
      if (outcome.kind !== 'connected') throw new Error(`proctor ${i} refused: ${outcome.message}`);
      sockets.push(outcome.socket);
      await request(outcome.socket, 'join', { interviewId: interview.id });
      const answer = await request(outcome.socket, 'createTransport', { direction: 'recv' });
      codes.push(answer.ok ? 'ok' : answer.error.code);
    }
    // Before: 'internal' ("no more available ports") while /healthz said 200.
    expect(codes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'unavailable', 'unavailable']);
    const health = await fetch(`${ts.url}/healthz`);
    expect(health.status).toBe(503);
    expect((await health.json()).mediasoup).toMatchObject({ ok: false, ports: [{ rangeSize: 6, udpInUse: 6, tcpInUse: 6, free: 0 }] });

    for (const socket of sockets.splice(0)) socket.disconnect();
    await waitFor(async () => (await fetch(`${ts.url}/healthz`)).status === 200, { what: '/healthz 200 once the transports are gone' });
    expect((await (await fetch(`${ts.url}/healthz`)).json()).mediasoup.ports[0]).toMatchObject({ udpInUse: 0, tcpInUse: 0, free: 6 });
  });
});
