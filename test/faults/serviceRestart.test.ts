// Fault: the whole service stops mid-interview — first a deploy (SIGTERM), then a crash (SIGKILL of
// the process group: service, ffmpeg, mediasoup worker) — and starts again on the same port and
// DATA_DIR. The candidate's page (real Chromium) reconnects and republishes by itself; recording
// goes on in new segments. Segments are concatenated: each outage is CUT OUT of the final files,
// so their duration is the interview's length minus the outages.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { proctorScreenState, type TestBrowser } from '../support/browser.ts';
import {
  downloadTo,
  interviewState,
  type InterviewState,
  logServiceOnFailure,
  recordedMedia,
  seconds,
  segmentDirs,
  segmentSpanSeconds,
  startLiveInterview,
  waitForInterview,
  waitForMediaFlowing,
} from '../support/faults.ts';
import { hasCues } from '../support/ffprobe.ts';
import { ADMIN_TOKEN, ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

// Long enough for two restarts with their recording in between on two busy cores (40 s ran out once
// beside another fault file: the interview ended while the service was restarting).
const INTERVIEW_SECONDS = 60;
/** How long the interview records between faults (the sleeps below are this recording time). */
const RECORD_MS = 7000;
/** The fixtures' key frames (`-g 60` at 30 fps, test/support/mediaFixtures.ts). */
const VIDEO_KEY_FRAME_INTERVAL_SECONDS = 2;

/** When media last started flowing into a segment before `time` (from the service's log). */
function lastFlowingBefore(service: ServiceProcess, time: number, fallback: number): number {
  return service.logged('recording media flowing').filter((line) => line.time < time).at(-1)?.time ?? fallback;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One request on a new connection (no keep-alive pool); undefined when nothing answers. */
function freshRequest(base: string, method: string, urlPath: string, body?: unknown): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const request = http.request(
      `${base}${urlPath}`,
      { method, agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode!, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
        response.on('error', () => resolve(undefined));
      },
    );
    request.on('error', () => resolve(undefined));
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * A request sent whole but its body's last byte: the server has routed it and waits for the body.
 * `finish()` sends that byte and resolves with the answer (undefined when the connection closed).
 */
async function heldRequest(base: string, method: string, urlPath: string, body: unknown): Promise<{ finish: () => Promise<Answer | undefined> }> {
  const text = JSON.stringify(body);
  const request = http.request(`${base}${urlPath}`, {
    method,
    agent: false,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
  });
  const answer = new Promise<Answer | undefined>((resolve) => {
    request.on('response', (response) => {
      let received = '';
      response.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode!, body: received ? (JSON.parse(received) as Record<string, unknown>) : {} }));
      response.on('error', () => resolve(undefined));
    });
    request.on('error', () => resolve(undefined));
  });
  request.flushHeaders();
  await new Promise<void>((resolve, reject) => request.write(text.slice(0, -1), (error) => (error ? reject(error) : resolve())));
  return {
    finish: () => {
      request.end(text.slice(-1));
      return answer;
    },
  };
}

interface Fault {
  what: string;
  at: number;
  resumedAt: number;
  /** Media recorded before the fault that never reached the segment (bounded by its own check). */
  lostBeforeSeconds: number;
}

describe('when the service is stopped (SIGTERM) and killed (SIGKILL) during a live interview', () => {
  let env: ServiceEnv;
  let service: ServiceProcess;
  let browser: TestBrowser;
  let interview: { id: string; candidateUrl: string; proctorUrl: string };
  /** A proctor watching from before the first fault to the end, never reloaded. */
  let proctor: Page;
  let proctorConsumersAtStart = 0;
  /** When media last started flowing into a segment (the start of what the next fault cuts). */
  let segmentFlowingAt = 0;
  /** The interview's end as set when it went live: no restart may move it. */
  let endsAt = '';
  const faults: Fault[] = [];
  const downloads = tempDir('fault-downloads-');

  beforeAll(async () => {
    env = await serviceEnv();
    let live: InterviewState;
    ({ service, browser, interview, live, mediaFlowingAt: segmentFlowingAt } = await startLiveInterview(env, INTERVIEW_SECONDS));
    endsAt = live.endsAt!;
    expect(Date.parse(endsAt) - Date.parse(live.startedAt!)).toBe(INTERVIEW_SECONDS * 1000);
    proctor = await browser.newPage();
    await proctor.goto(interview.proctorUrl);
    await waitFor(async () => (await proctorScreenState(proctor)).width > 0, { timeoutMs: 15_000, what: 'the proctor to see the screen' });
    proctorConsumersAtStart = (await proctorScreenState(proctor)).consumers;
  });

  logServiceOnFailure(() => service);

  afterAll(async () => {
    await browser?.close();
    await service?.kill();
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
    fs.rmSync(downloads, { recursive: true, force: true });
  });

  /** Starts the service again on the same DATA_DIR: the interview is still live and media flows into a new segment. */
  async function restartAndResume(what: string, at: number, lostBeforeSeconds: number): Promise<void> {
    const startedAt = Date.now();
    service = await ServiceProcess.start(env);
    // Seen within 50 ms (ServiceProcess polls the output for the line main.ts prints once it is up).
    const upAt = Date.now();
    const state = await interviewState(service, interview.id);
    expect(state.status).toBe('live');
    // The timer is re-armed at the persisted end, not for the full length again.
    expect(state.endsAt).toBe(endsAt);
    const flowing = await waitForMediaFlowing(service, at);
    // The gap the interview stores for this fault, closed once media flows again.
    const gap = await waitFor(
      async () => (await interviewState(service, interview.id)).gaps.filter((entry) => entry.cause === 'service restarted' && entry.end).at(faults.length),
      { timeoutMs: 10_000, what: `the ${what} gap to close` },
    );
    console.log(
      `${what}: the service was up ${upAt - startedAt} ms after it was started (${service.logged('started in')[0]?.msg ?? 'no start line'}); media back in segment ${flowing.index} ${flowing.time - upAt} ms after that, ${flowing.time - at} ms after the fault; the service restarted gap: ${Date.parse(gap.end!) - Date.parse(gap.start)} ms`,
    );
    faults.push({ what, at, resumedAt: flowing.time, lostBeforeSeconds: Math.max(0, lostBeforeSeconds) });
    segmentFlowingAt = flowing.time;
  }

  it('SIGTERM: new interviews are refused while it drains, the segment ends cleanly, it exits 0 and the interview stays live', async () => {
    await sleep(RECORD_MS);
    const segment = segmentDirs(env.DATA_DIR, interview.id).at(-1)!;
    // A create request already on the wire before the signal, its body held back: answered once
    // the service drains (an open request keeps its connection; a new one finds nothing listening
    // once the HTTP server closes).
    const heldCreate = await heldRequest(service.url, 'POST', '/api/interviews', { durationSeconds: 30 });
    // The drain lasts as long as the recordings take to stop (tens of milliseconds on an idle
    // machine): its ffmpeg processes are paused (SIGSTOP) so it lasts until the test has asked.
    // Resumed, they handle the pending 'q' and SIGINTs and end their files cleanly.
    const recorders = service.children('ffmpeg');
    expect(recorders.length).toBeGreaterThan(0);
    for (const pid of recorders) process.kill(pid, 'SIGSTOP');
    const termAt = Date.now();
    const exiting = service.terminate();
    segmentFlowingAt = lastFlowingBefore(service, termAt, segmentFlowingAt);
    // Draining: /healthz says `service.draining`, each request on a connection of its own.
    const healths: Answer[] = [];
    let create: Answer | undefined;
    try {
      // Well within the 5 s a recorder gets to stop before it is killed.
      for (const deadline = Date.now() + 3000; Date.now() < deadline; ) {
        const answer = await freshRequest(service.url, 'GET', '/healthz');
        if (!answer) break; // Nothing listens: draining was missed.
        healths.push(answer);
        if (answer.status !== 200) break; // 200 until the signal is handled.
      }
      create = await heldCreate.finish();
    } finally {
      for (const pid of recorders) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Already gone (killed after its stop timeout): the checks below say what went wrong.
        }
      }
    }
    const draining = healths.filter((answer) => answer.status !== 200);
    // Seen once in CI: nothing answered 285 ms after SIGTERM. What the service logged says why.
    if (draining.length === 0) console.log(`no draining answer; the service's last log lines:\n${service.logs.slice(-40).map((line) => JSON.stringify(line)).join('\n')}`);
    console.log(`while draining (${Date.now() - termAt} ms after SIGTERM): GET /healthz → ${JSON.stringify(draining[0])}; the held POST /api/interviews → ${JSON.stringify(create)}`);
    expect(draining).toHaveLength(1);
    // The service's own 503 (not a generic one from a closing HTTP server).
    expect(draining[0]).toMatchObject({ status: 503, body: { status: 'unavailable', service: { ok: false, draining: true }, database: { ok: true } } });
    expect(create).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    expect(await exiting).toEqual({ code: 0, signal: null });

    // Ended cleanly: the segment has its trailer (a duration) and holds everything up to the stop.
    const media = await recordedMedia(path.join(segment, 'screen.webm'));
    expect(media.durationSeconds).toBeGreaterThan(RECORD_MS / 1000 - 2);
    const missing = (termAt - segmentFlowingAt) / 1000 - (await segmentSpanSeconds(path.join(segment, 'screen.webm')));
    console.log(`SIGTERM: ${missing.toFixed(2)} s missing before the stop`);
    // A clean stop writes everything (measured −0.13 to −0.04 s in 9 runs: the span is a little longer).
    expect(missing).toBeLessThan(1);

    await restartAndResume('SIGTERM', termAt, missing);
    expect(path.basename(segmentDirs(env.DATA_DIR, interview.id).at(-1)!)).not.toBe(path.basename(segment));
  });

  it('SIGKILL of the process group: the partial segment keeps all but the last second and the restarted service records on', async () => {
    await sleep(RECORD_MS);
    const segment = segmentDirs(env.DATA_DIR, interview.id).at(-1)!;
    const killAt = Date.now();
    await service.kill();
    segmentFlowingAt = lastFlowingBefore(service, killAt, segmentFlowingAt);
    const missing = (killAt - segmentFlowingAt) / 1000 - (await segmentSpanSeconds(path.join(segment, 'candidate.webm')));
    console.log(`SIGKILL: ${missing.toFixed(2)} s missing before the kill`);
    // README: about 1 s at most (the muxer's open 1 s cluster). Measured on the shared, loaded
    // machine: 0.05–0.13 s in 8 of 9 runs, 1.03 s in one (a kill just before a cluster was written).
    expect(missing).toBeLessThan(1.5);

    await restartAndResume('SIGKILL', killAt, missing);
  });

  it('the proctor page watching through both restarts plays the candidate again by itself', async () => {
    const lastFault = faults.at(-1)!;
    // New consumers on the restarted service, and frames decoded from them.
    expect((await interviewState(service, interview.id)).status).toBe('live');
    let framesAfterRebuild = 0;
    await expect
      .poll(async () => {
        const state = await proctorScreenState(proctor);
        if (state.consumers <= proctorConsumersAtStart) return false;
        framesAfterRebuild ||= state.frames;
        return state.frames > framesAfterRebuild + 10;
      }, { timeout: 15_000, interval: 100 })
      .toBe(true);
    console.log(`proctor playing again ${Date.now() - lastFault.resumedAt} ms after media was back on the server`);
  });

  it('ends on time; the final files hold the interview minus the outages, in sync, with both outages as gaps', async () => {
    const done = await waitForInterview(service, interview.id, (state) => state.status === 'completed', 'the interview to complete', 60_000);
    // On time: ended by the timer armed at the original endsAt, whatever happened in between.
    const lateMs = Date.parse(done.completedAt!) - Date.parse(endsAt);
    console.log(`ended ${lateMs} ms after endsAt`);
    expect(done.endsAt).toBe(endsAt);
    expect(Math.abs(lateMs)).toBeLessThan(1500);
    const lengthMs = Date.parse(done.completedAt!) - Date.parse(done.startedAt!);
    // Under load ffmpeg may also have been restarted on its own: that outage is cut out too.
    const otherGaps = done.gaps.filter((gap) => gap.cause !== 'service restarted');
    if (otherGaps.length > 0) console.log(`other gaps: ${JSON.stringify(otherGaps)}`);
    expect(otherGaps.every((gap) => gap.cause === 'recorder restarted')).toBe(true);
    const otherMs = otherGaps.reduce((sum, gap) => sum + Date.parse(gap.end!) - Date.parse(gap.start), 0);
    const outageMs = faults.reduce((sum, fault) => sum + (fault.resumedAt - fault.at), 0) + otherMs;
    // The real outage of each fault: from the last media its segment kept to the first media after it.
    const lostBeforeSeconds = faults.reduce((sum, fault) => sum + fault.lostBeforeSeconds, 0);
    const expected = (lengthMs - outageMs) / 1000 - lostBeforeSeconds;

    const restarts = done.gaps.filter((gap) => gap.cause === 'service restarted');
    expect(restarts).toHaveLength(2);
    for (const [index, fault] of faults.entries()) {
      const gap = restarts[index]!;
      // From the last bytes written before the fault to the first media after it.
      expect(Date.parse(gap.start)).toBeGreaterThan(fault.at - 2000);
      // A graceful stop writes until ffmpeg has quit (its trailer is the last write): 0.3 s on a
      // quiet machine, 0.69 s once in CI beside the other suites.
      expect(Date.parse(gap.start)).toBeLessThanOrEqual(fault.at + 1000);
      expect(Math.abs(Date.parse(gap.end!) - fault.resumedAt)).toBeLessThan(1000);
    }

    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      const media = await recordedMedia(file);
      console.log(
        `${kind}.webm: ${media.durationSeconds} s; interview ${seconds(lengthMs)} s, outages ${faults.map((f) => `${f.what} ${seconds(f.resumedAt - f.at)} s`).join(', ')}, lost before the faults ${lostBeforeSeconds.toFixed(2)} s → expected ${expected.toFixed(2)} s`,
      );
      // Shorter by each new segment's wait for media and a key frame, more so under load (measured
      // −0.26 to −1.84 s over 7 runs on the shared machine, 3 segments each): no tighter than 2 s
      // below. Longer by what reached a segment after its fault was signalled (a graceful stop
      // records until ffmpeg quits; since stopping ffmpeg is nudged and no longer loses its last
      // cluster, measured +0.30 s): at most 1 s above what the segments received, before the loss
      // measured at each fault is taken off (that measure is a bound; once it said 1.07 s for a
      // kill whose file lost nothing, and the file was 1.12 s over the reduced expectation).
      expect(media.durationSeconds! - (expected + lostBeforeSeconds)).toBeLessThan(1);
      expect(media.durationSeconds! - expected).toBeGreaterThan(-2);
      // Outages are cut out: no pause in either stream; audio and video start and end together.
      // An outage left in would pause both for its length (3.5–8 s measured). A video frame lost under load (a
      // datagram dropped at a busy socket) freezes the video up to the next key frame, ≤ 2 s
      // apart: seen once in CI, 1.09 s at 38 s, far from either fault.
      const videoPauses = media.video.gaps.filter((gap) => gap.seconds > VIDEO_KEY_FRAME_INTERVAL_SECONDS + 0.5);
      if (media.video.gaps.length > 0) console.log(`${kind}.webm video pauses: ${JSON.stringify(media.video.gaps)}`);
      expect(videoPauses).toEqual([]);
      expect(media.audio.gaps).toEqual([]);
      expect(Math.abs(media.video.first - media.audio.first)).toBeLessThan(0.5);
      expect(Math.abs(media.video.last - media.audio.last)).toBeLessThan(0.5);
      expect(await hasCues(file)).toBe(true);
    }
    // Local files go once both uploads are verified and the filmstrip is made from them (just after the URLs).
    await waitFor(() => !fs.existsSync(path.join(env.DATA_DIR, 'recordings', interview.id)), { timeoutMs: 30_000, what: 'the local recording removed' });
  });
});
