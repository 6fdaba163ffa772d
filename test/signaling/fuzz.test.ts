import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { TRACK_NAMES, requestSchemas } from '../../shared/protocol.ts';
import { buildClient, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type CreatedInterview, type TestService } from '../support/testService.ts';
import { connect, connectRaw, connected, type RawSocket } from './signalingClient.ts';

const MESSAGES = 1500;
/** Fuzz for at least this long, so the proctor's video is watched through a meaningful stretch. */
const MIN_FUZZ_MS = 5000;
/** 20 messages per batch: about 2,000 messages over the fuzz's five seconds. */
const BATCH_PAUSE_MS = 50;
const KNOWN = Object.keys(requestSchemas);

// A small deterministic PRNG, so a failure can be replayed with the printed seed.
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(random: () => number, ids: () => string[]) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const value = (depth = 0): unknown => {
    switch (Math.floor(random() * (depth > 2 ? 8 : 11))) {
      case 0: return null;
      case 1: return Math.floor(random() * 2 ** 32) * (random() < 0.5 ? -1 : 1);
      case 2: return pick([NaN, Infinity, -0, 1e308, 0.5, 127, 128, -1]);
      case 3: return random() < 0.5;
      case 4: return 'x'.repeat(Math.floor(random() * 300));
      case 5: return pick(['', '__proto__', 'constructor', 'toString', 'screen', 'video', 'video/VP9', 'send', 'recv', '💥', '\u0000', ...ids()]);
      case 6: return pick([...TRACK_NAMES, 'microphone', 'SCREEN']);
      case 7: return Buffer.from([random() * 255, random() * 255]);
      case 8: return Array.from({ length: Math.floor(random() * 5) }, () => value(depth + 1));
      default: {
        const keys = ['interviewId', 'direction', 'transportId', 'dtlsParameters', 'track', 'kind', 'rtpParameters', 'rtpCapabilities', 'consumerId', 'codecs', 'fingerprints', 'encodings', '__proto__', 'constructor'];
        const object: Record<string, unknown> = {};
        // defineProperty: a "__proto__" key must be an own property, not a prototype swap.
        for (let i = Math.floor(random() * 5); i > 0; i--) {
          Object.defineProperty(object, pick(keys), { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        }
        return object;
      }
    }
  };
  /** A plausible payload for a known request with one part broken (or nothing broken). */
  const nearlyValid = (event: string): unknown => {
    const base: Record<string, unknown> = {
      interviewId: pick(ids()),
      direction: pick(['send', 'recv']),
      transportId: pick(ids()),
      track: pick(TRACK_NAMES),
      kind: pick(['audio', 'video']),
      consumerId: pick(ids()),
      dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] },
      rtpParameters: { mid: '0', codecs: [{ mimeType: pick(['video/VP9', 'audio/opus', 'video/H264']), payloadType: 100, clockRate: 90000 }], encodings: [{ ssrc: 1234 }] },
      rtpCapabilities: { codecs: [{ kind: 'video', mimeType: 'video/VP9', clockRate: 90000, preferredPayloadType: 100 }] },
    };
    const payload: Record<string, unknown> = {};
    const shape = requestSchemas[event as keyof typeof requestSchemas].shape as Record<string, unknown>;
    for (const key of Object.keys(shape)) payload[key] = base[key];
    if (random() < 0.7) payload[pick([...Object.keys(shape), 'extra'])] = value();
    return payload;
  };
  return { pick, value, nearlyValid };
}

function show(args: unknown): string {
  try {
    return JSON.stringify(args).slice(0, 300);
  } catch {
    return String(args).slice(0, 300);
  }
}

function waitForAck(socket: RawSocket, event: string, args: unknown[]): Promise<unknown> {
  return socket.timeout(10_000).emitWithAck(event, ...args);
}

async function frameCounter(page: Page): Promise<void> {
  await page.evaluate(() => {
    const stats = { frames: 0, maxGapMs: 0, last: 0 };
    Object.assign(window, { frameStats: stats });
    const video = document.getElementById('screen') as HTMLVideoElement;
    const onFrame = (now: number) => {
      if (stats.last) stats.maxGapMs = Math.max(stats.maxGapMs, now - stats.last);
      stats.last = now;
      stats.frames++;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
}

const frameStats = (page: Page) => page.evaluate(() => (window as unknown as { frameStats: { frames: number; maxGapMs: number } }).frameStats);

describe('signalling survives malformed, random and out-of-order messages', () => {
  let ts: TestService;
  let browser: TestBrowser;
  let live: CreatedInterview;
  let other: CreatedInterview;
  let proctorPage: Page;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    browser = await launchBrowser();
    [live, other] = await Promise.all([ts.createInterview({ candidateName: 'Live' }), ts.createInterview({ candidateName: 'Other' })]);
    const candidatePage = await browser.newPage();
    await candidatePage.goto(live.candidateUrl);
    const start = candidatePage.getByRole('button', { name: /Start/ });
    await waitFor(() => start.isEnabled(), { timeoutMs: 10_000, what: 'the Start button' });
    await start.click();
    await waitFor(async () => (await ts.api<{ status: string }>('GET', `/api/interviews/${live.id}`)).body.status === 'live', {
      timeoutMs: 20_000,
      what: 'the live interview',
    });
    proctorPage = await browser.newPage();
    await proctorPage.goto(live.proctorUrl);
    await waitFor(() => proctorPage.evaluate(() => (document.getElementById('screen') as HTMLVideoElement).videoWidth > 0), {
      timeoutMs: 15_000,
      what: 'the proctor to see the screen',
    });
  });

  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });

  it(`answers at least ${MESSAGES} hostile messages with errors while the live interview keeps streaming to its proctor`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    console.log(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const random = prng(seed);
    const room = ts.service.sessions.get(live.id)?.room!;
    const producersBefore = TRACK_NAMES.map((track) => room.getProducer(track)!.id);
    const knownIds: string[] = [live.id, other.id, ...producersBefore, 'transport-x'];
    const { pick, value, nearlyValid } = generator(random, () => knownIds);

    // Tokens the fuzzer may use without legitimately disturbing the live interview: its proctor
    // (but never endInterview) and both roles of another interview. A candidate token of the live
    // interview would legitimately take over the candidate's session, so it is not used.
    const tokens = [
      { token: live.proctorToken, forbid: ['endInterview'] },
      { token: other.candidateToken, forbid: [] as string[] },
      { token: other.proctorToken, forbid: [] as string[] },
    ];
    const sockets = await Promise.all(tokens.map(async ({ token }) => connect(ts.url, token)));
    // Give each a real transport id to aim at, so some calls get past the "no such transport" check.
    for (const [index, socket] of sockets.entries()) {
      await waitForAck(socket, 'join', [{ interviewId: index === 0 ? live.id : other.id }]);
      const transport = (await waitForAck(socket, 'createTransport', [{ direction: index === 1 ? 'send' : 'recv' }])) as { ok: boolean; data?: { id: string } };
      if (transport.data) knownIds.push(transport.data.id);
    }

    await frameCounter(proctorPage);
    const framesBefore = await frameStats(proctorPage);
    const started = Date.now();
    let acked = 0;
    let unacked = 0;
    let refusedHandshakes = 0;
    let reconnects = 0;
    let lostToClosedConnections = 0;
    let oversizedSent = 0;
    /** Connections sent a message over maxHttpBufferSize: the only ones the server may close. */
    const oversizedTo = new Set<RawSocket>();
    const answers: Record<string, number> = {};
    const badAnswers: unknown[] = [];

    let sent = 0;
    while (sent < MESSAGES || Date.now() - started < MIN_FUZZ_MS) {
      // Paced, not flat out: the fuzzer shares this process (and two cores) with the service and
      // the browsers, and what is tested is the server's answers, not who starves whom.
      if (sent > 0) await new Promise((resolve) => setTimeout(resolve, BATCH_PAUSE_MS));
      const batch: Array<Promise<void>> = [];
      for (let i = 0; i < 20; i++, sent++) {
        const slot = Math.floor(random() * sockets.length);
        const socket = sockets[slot]!;
        const roll = random();
        if (roll < 0.02) {
          // A handshake with garbage for a token.
          batch.push(
            connected(connectRaw(ts.url, pick([value(), 'a.b', `${live.proctorToken}x`, live.proctorToken.split('.')[0]])))
              .then((s) => {
                s.disconnect();
                badAnswers.push('a garbage token was accepted');
              })
              .catch(() => {
                refusedHandshakes++;
              }),
          );
          continue;
        }
        let event: string;
        if (roll < 0.45) event = pick(KNOWN);
        else if (roll < 0.55) event = pick(['error', 'connect_error_', 'hasOwnProperty', '__proto__', 'constructor', 'x'.repeat(1000), 'JOIN', 'produce ', '']);
        else event = pick(KNOWN);
        if (tokens[slot]!.forbid.includes(event)) event = 'getStats';
        const args: unknown[] = roll < 0.7 && KNOWN.includes(event) ? [nearlyValid(event)] : Array.from({ length: Math.floor(random() * 3) }, () => value());
        if (random() < 0.03) {
          args.push('y'.repeat(40_000 + Math.floor(random() * 60_000))); // some over maxHttpBufferSize
          oversizedSent++;
          oversizedTo.add(socket);
        }
        if (random() < 0.15) {
          socket.emit(event, ...args); // no ack: must simply be dropped
          unacked++;
          continue;
        }
        batch.push(
          waitForAck(socket, event, args).then(
            (answer) => {
              acked++;
              const result = answer as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
              const key = result.ok === true ? 'ok' : String(result.error?.code);
              answers[key] = (answers[key] ?? 0) + 1;
              if (result.ok !== true && (result.ok !== false || typeof result.error?.code !== 'string' || typeof result.error?.message !== 'string')) badAnswers.push(answer);
              if (key === 'internal') badAnswers.push({ event, args: show(args), answer });
            },
            (error: Error) => {
              // Only an oversized message (the server closes that connection) may go unanswered:
              // a request lost on a connection that was sent none means the server dropped it or hung up.
              if (socket.connected || !oversizedTo.has(socket)) badAnswers.push({ event, unanswered: show(args), error: error.message, connected: socket.connected });
              lostToClosedConnections++;
            },
          ),
        );
      }
      await Promise.all(batch);
      for (const [index, socket] of sockets.entries()) {
        if (socket.connected) continue;
        reconnects++;
        sockets[index] = await connect(ts.url, tokens[index]!.token);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    for (const socket of sockets) socket.disconnect();
    console.log(
      `fuzz: ${sent} messages in ${seconds.toFixed(1)} s — ${acked} answered (${JSON.stringify(answers)}), ${unacked} without ack, ` +
        `${refusedHandshakes} garbage handshakes refused, ${reconnects} reconnects after oversized messages (${lostToClosedConnections} requests in flight on those connections)`,
    );
    expect(badAnswers).toEqual([]);
    // Connections closed by the server: only those sent an oversized message.
    expect(reconnects).toBeLessThanOrEqual(oversizedSent);
    // The fuzz reached the handlers: well-formed calls succeed, the rest get error codes.
    expect(answers.ok).toBeGreaterThan(0);
    expect(Object.keys(answers).filter((key) => key !== 'ok').length).toBeGreaterThanOrEqual(3);
    expect(refusedHandshakes).toBeGreaterThan(0);
    expect(sent).toBeGreaterThanOrEqual(MESSAGES);

    // The live interview never noticed: same producers, frames kept coming with no stall.
    await waitFor(async () => (await frameStats(proctorPage)).frames > framesBefore.frames + 10, { timeoutMs: 5000, what: 'more frames after the fuzz' });
    const framesAfter = await frameStats(proctorPage);
    const fps = (framesAfter.frames - framesBefore.frames) / ((Date.now() - started) / 1000);
    console.log(`proctor screen during the fuzz: ${fps.toFixed(1)} fps, longest gap between frames ${framesAfter.maxGapMs.toFixed(0)} ms`);
    // Measured 133–200 ms in 3 runs on the shared 2-core machine (it was widened to 2500 ms unexplained).
    expect(framesAfter.maxGapMs).toBeLessThan(1000);
    expect(fps).toBeGreaterThan(3);
    expect(TRACK_NAMES.map((track) => room.getProducer(track)?.id)).toEqual(producersBefore);
    expect((await ts.api<{ status: string }>('GET', `/api/interviews/${live.id}`)).body.status).toBe('live');
    const health = await fetch(`${ts.url}/healthz`);
    expect(health.status).toBe(200);
    // And the service still serves newcomers: a fresh proctor joins the live interview.
    const newcomer = await connect(ts.url, live.proctorToken);
    const joined = (await waitForAck(newcomer, 'join', [{ interviewId: live.id }])) as { ok: boolean; data: { tracks: string[] } };
    newcomer.disconnect();
    expect(joined.ok).toBe(true);
    expect(joined.data.tracks).toEqual(['screen', 'camera', 'audio']);
  });
});
