import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RoleTokens } from '../../server/auth/RoleTokens.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';
import { connect, connectRaw, connected, request, type RawSocket } from './signalingClient.ts';

// Capabilities a browser would send; enough for the server to accept a consume.
const rtpCapabilities = {
  codecs: [{ kind: 'video', mimeType: 'video/VP9', clockRate: 90000, preferredPayloadType: 101, parameters: { 'profile-id': 0 }, rtcpFeedback: [] }],
  headerExtensions: [],
};
const fakeRtpParameters = {
  mid: '0',
  codecs: [{ mimeType: 'video/VP9', payloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [] }],
  headerExtensions: [],
  encodings: [{ ssrc: 1111 }],
  rtcp: { cname: 'x', reducedSize: true },
};

describe('signalling authorization: a role token admits one role into one interview', () => {
  let ts: TestService;
  let a: CreatedInterview;
  let b: CreatedInterview;
  let roleTokenKey: string;
  const sockets: RawSocket[] = [];
  const open = async (token: unknown) => {
    const socket = await connect(ts.url, token);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    ts = await startTestService();
    [a, b] = await Promise.all([ts.createInterview(), ts.createInterview()]);
    roleTokenKey = JSON.parse(fs.readFileSync(path.join(ts.dataDir, 'secrets.json'), 'utf8')).roleTokenKey;
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });

  afterAll(async () => {
    await ts?.close();
  });

  it('refuses a connection without a token, or with an expired, forged or tampered one, saying which', async () => {
    const refusals: Array<[unknown, string, string]> = [
      [undefined, 'role token malformed', 'malformed'],
      ['', 'role token malformed', 'malformed'],
      [{ not: 'a string' }, 'role token malformed', 'malformed'],
      ['x'.repeat(5000), 'role token malformed', 'malformed'],
      [new RoleTokens(roleTokenKey).issue(a.id, 'candidate', 60, Date.now() - 3_600_000), 'role token expired', 'expired'],
      [new RoleTokens('some-other-key').issue(a.id, 'proctor', 3600), 'role token bad signature', 'bad_signature'],
    ];
    // The candidate's own token with its claims rewritten to proctor keeps the old signature.
    const [payload, signature] = a.candidateToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    const tampered = `${Buffer.from(JSON.stringify({ ...claims, role: 'proctor' })).toString('base64url')}.${signature}`;
    refusals.push([tampered, 'role token bad signature', 'bad_signature']);

    for (const [token, message, reason] of refusals) {
      const error = await connected(connectRaw(ts.url, token)).then(
        () => null,
        (refusal: Error & { data?: unknown }) => refusal,
      );
      expect(error, `token ${JSON.stringify(token)?.slice(0, 40)}`).not.toBeNull();
      expect(error!.message).toBe(message);
      // The reason lets a page tell an expired link (ask for a fresh one) from an invalid one.
      expect(error!.data).toEqual({ code: 'unauthorized', reason });
    }
  });

  it('does not let a candidate token for interview A join interview B', async () => {
    const socket = await open(a.candidateToken);
    expect(await request(socket, 'join', { interviewId: b.id })).toEqual({
      ok: false,
      error: { code: 'forbidden', message: 'this link belongs to another interview' },
    });
    // And nothing else works until it has joined its own interview.
    expect(await request(socket, 'createTransport', { direction: 'send' })).toEqual({ ok: false, error: { code: 'conflict', message: 'send join first' } });
    const joined = await request(socket, 'join', { interviewId: a.id });
    expect(joined.ok && (joined.data as { role: string }).role).toBe('candidate');
  });

  it('does not let a proctor produce, open a send transport or close producers', async () => {
    const socket = await open(a.proctorToken);
    expect((await request(socket, 'join', { interviewId: a.id })).ok).toBe(true);
    expect(await request(socket, 'produce', { transportId: 'x', track: 'screen', kind: 'video', rtpParameters: fakeRtpParameters })).toEqual({
      ok: false,
      error: { code: 'forbidden', message: 'a proctor may not send produce' },
    });
    expect(await request(socket, 'closeProducer', { track: 'screen' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await request(socket, 'createTransport', { direction: 'send' })).toEqual({
      ok: false,
      error: { code: 'forbidden', message: 'a proctor may only open a recv transport' },
    });
    const recv = await request(socket, 'createTransport', { direction: 'recv' });
    expect(recv.ok).toBe(true);
    // Even on its own receive transport, producing is refused before the transport is looked at.
    const transportId = (recv as { data: { id: string } }).data.id;
    expect(await request(socket, 'produce', { transportId, track: 'audio', kind: 'audio', rtpParameters: fakeRtpParameters })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(ts.service.sessions.get(a.id)?.room?.tracks).toEqual([]);
  });

  it('does not let a candidate consume, end the interview or open a receive transport', async () => {
    const socket = await open(b.candidateToken);
    expect((await request(socket, 'join', { interviewId: b.id })).ok).toBe(true);
    expect(await request(socket, 'consume', { transportId: 'x', track: 'screen', rtpCapabilities })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await request(socket, 'resumeConsumer', { consumerId: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await request(socket, 'endInterview', {})).toEqual({ ok: false, error: { code: 'forbidden', message: 'a candidate may not send endInterview' } });
    expect(await request(socket, 'createTransport', { direction: 'recv' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect((await ts.api<{ status: string }>('GET', `/api/interviews/${b.id}`)).body.status).toBe('created');
  });

  it('answers unknown, malformed and out-of-order requests with errors', async () => {
    const socket = await open(a.proctorToken);
    expect(await request(socket, 'resumeConsumer', { consumerId: 'x' })).toEqual({ ok: false, error: { code: 'conflict', message: 'send join first' } });
    expect(await request(socket, 'join', { interviewId: 'not-a-uuid' })).toEqual({
      ok: false,
      error: { code: 'invalid_input', message: 'interviewId: Invalid uuid' },
    });
    expect(await request(socket, 'join', { interviewId: a.id, extra: 1 })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await request(socket, 'join', { interviewId: a.id }, 'second payload')).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await request(socket, 'deleteEverything', {})).toEqual({ ok: false, error: { code: 'not_found', message: 'unknown request "deleteEverything"' } });
    expect((await request(socket, 'join', { interviewId: a.id })).ok).toBe(true);
    expect(await request(socket, 'join', { interviewId: a.id })).toEqual({ ok: false, error: { code: 'conflict', message: 'already joined' } });
    expect(await request(socket, 'connectTransport', { transportId: 'nope', dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] } })).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no such transport; create one first' },
    });
    expect(await request(socket, 'consume', { transportId: 'nope', track: 'screen', rtpCapabilities })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('answers a producer whose codec the room does not have as invalid input, not as an internal error', async () => {
    const socket = await open(b.candidateToken);
    expect((await request(socket, 'join', { interviewId: b.id })).ok).toBe(true);
    const transport = (await request(socket, 'createTransport', { direction: 'send' })) as { ok: true; data: { id: string } };
    const answer = await request(socket, 'produce', {
      transportId: transport.data.id,
      track: 'audio',
      kind: 'audio',
      rtpParameters: { mid: '0', codecs: [{ mimeType: 'video/H264', payloadType: 100, clockRate: 90000 }], encodings: [{ ssrc: 1234 }] },
    });
    expect(answer).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('retires an older candidate connection when the candidate opens the interview again', async () => {
    const interview = await ts.createInterview();
    const first = await open(interview.candidateToken);
    expect((await request(first, 'join', { interviewId: interview.id })).ok).toBe(true);
    const replaced = new Promise((resolve) => first.once('sessionReplaced', resolve));
    const disconnected = new Promise((resolve) => first.once('disconnect', resolve));
    const second = await open(interview.candidateToken);
    expect((await request(second, 'join', { interviewId: interview.id })).ok).toBe(true);
    expect(await replaced).toEqual({});
    expect(await disconnected).toBe('io server disconnect');
    expect(second.connected).toBe(true);
  });

  it('lets a proctor end its own interview and tells everyone in it where the candidate goes', async () => {
    const interview = await ts.createInterview();
    const candidate = await open(interview.candidateToken);
    const proctor = await open(interview.proctorToken);
    const outsider = await open(a.proctorToken);
    expect((await request(candidate, 'join', { interviewId: interview.id })).ok).toBe(true);
    expect((await request(proctor, 'join', { interviewId: interview.id })).ok).toBe(true);
    expect((await request(outsider, 'join', { interviewId: a.id })).ok).toBe(true);
    const notices: string[] = [];
    outsider.on('interviewEnded', () => notices.push('outsider'));
    const ended = new Promise((resolve) => candidate.once('interviewEnded', resolve));
    expect(await request(proctor, 'endInterview', {})).toEqual({ ok: true, data: {} });
    expect(await ended).toEqual({ endUrl: `/interview/end/${interview.id}`, cause: 'proctor' });
    expect((await ts.api<{ status: string }>('GET', `/api/interviews/${interview.id}`)).body.status).not.toMatch(/^(created|live)$/);
    expect(await request(candidate, 'createTransport', { direction: 'send' })).toEqual({ ok: false, error: { code: 'conflict', message: 'the interview has ended' } });
    // A late joiner is told the interview is over.
    const late = await open(interview.candidateToken);
    const lateNotice = new Promise((resolve) => late.once('interviewEnded', resolve));
    expect(await request(late, 'join', { interviewId: interview.id })).toEqual({ ok: false, error: { code: 'conflict', message: 'the interview has ended' } });
    expect(await lateNotice).toEqual({ endUrl: `/interview/end/${interview.id}`, cause: null });
    expect(notices).toEqual([]);
  });
});
