// Tools of the fault suite (test/faults): a candidate in Chromium, a real network cut between
// Chromium and the service (iptables on the loopback), and measurements of the recorded files.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterEach, expect } from 'vitest';
import { buildClient, launchBrowser, type TestBrowser } from './browser.ts';
import { hasCues, probeFile, probePackets, type ProbedPacket } from './ffprobe.ts';
import { ADMIN_TOKEN, ServiceProcess, type ServiceEnv } from './serviceProcess.ts';
import { waitFor } from './testConfig.ts';

export interface Gap {
  start: string;
  end: string | null;
  cause: string;
}

export interface InterviewState {
  id: string;
  status: string;
  startedAt: string | null;
  endsAt: string | null;
  completedAt: string | null;
  screenVideo: string;
  candidateVideo: string;
  failureReason: string | null;
  gaps: Gap[];
}

export async function interviewState(service: ServiceProcess, id: string): Promise<InterviewState> {
  const { status, body } = await service.api<InterviewState>('GET', `/api/interviews/${id}`);
  if (status !== 200) throw new Error(`GET /api/interviews/${id} answered ${status}`);
  return body;
}

export function waitForInterview(service: ServiceProcess, id: string, wanted: (state: InterviewState) => boolean, what: string, timeoutMs = 30_000): Promise<InterviewState> {
  return waitFor(async () => {
    const state = await interviewState(service, id);
    return wanted(state) ? state : null;
  }, { timeoutMs, intervalMs: 200, what });
}

async function createInterview(service: ServiceProcess, durationSeconds: number): Promise<{ id: string; candidateUrl: string; proctorUrl: string }> {
  const { status, body } = await service.api<{ id: string; candidateUrl: string; proctorUrl: string }>('POST', '/api/interviews', { durationSeconds, candidateName: 'Fault Tester' });
  if (status !== 201) throw new Error(`creating an interview answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

/** Opens the candidate page and shares screen, camera and microphone (the click is the user gesture capture needs). */
async function startCandidate(browser: TestBrowser, candidateUrl: string, page?: Page): Promise<Page> {
  const candidate = page ?? (await browser.newPage());
  if (!page) await candidate.goto(candidateUrl);
  await shareAgain(candidate);
  return candidate;
}

/** Presses the page's Start button once it is enabled (after a reload the browser needs a new gesture to share the screen). */
export async function shareAgain(candidate: Page): Promise<void> {
  const start = candidate.getByRole('button', { name: /Start|Share/ });
  await waitFor(() => start.isEnabled(), { timeoutMs: 15_000, what: 'the Start button' });
  await start.click();
}

/** Segment directories of an interview's recording on disk, in order. */
export function segmentDirs(dataDir: string, interviewId: string): string[] {
  const dir = path.join(dataDir, 'recordings', interviewId);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => /^segment-\d+$/.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

/** Wall-clock time (ms) the service logged media flowing into a segment after `after`, waiting for it. */
export async function waitForMediaFlowing(service: ServiceProcess, after: number, timeoutMs = 30_000): Promise<{ time: number; index: number }> {
  return waitFor(
    () => {
      const line = service.logged('recording media flowing').find((entry) => entry.time > after);
      return line ? { time: line.time, index: line.index as number } : null;
    },
    { timeoutMs, intervalMs: 100, what: 'media to flow into a new recording segment' },
  );
}

export interface StreamTimeline {
  first: number;
  last: number;
  /** Pauses between consecutive packets longer than 1 s: [at, length] in seconds. */
  gaps: Array<{ at: number; seconds: number }>;
  packets: number;
  /** Every packet time, sorted. */
  times: number[];
}

/** The longest pause between consecutive packets that starts within `window` s of `around`. */
export function pauseNear(stream: StreamTimeline, around: number, window = 1.5): { at: number; seconds: number } {
  let best = { at: around, seconds: 0 };
  for (let index = 1; index < stream.times.length; index++) {
    const at = stream.times[index - 1]!;
    const step = stream.times[index]! - at;
    if (Math.abs(at - around) <= window && step > best.seconds) best = { at, seconds: step };
  }
  return best;
}

function timeline(packets: ProbedPacket[]): StreamTimeline {
  const times = packets.map((packet) => packet.ptsTime).sort((a, b) => a - b);
  const gaps: StreamTimeline['gaps'] = [];
  for (let index = 1; index < times.length; index++) {
    const step = times[index]! - times[index - 1]!;
    if (step > 1) gaps.push({ at: times[index - 1]!, seconds: step });
  }
  return { first: times[0] ?? NaN, last: times.at(-1) ?? NaN, gaps, packets: times.length, times };
}

export interface RecordedMedia {
  durationSeconds: number | undefined;
  video: StreamTimeline;
  audio: StreamTimeline;
}

/** Duration and per-stream packet timeline of a WebM (final file or a raw, possibly SIGKILLed, segment). */
export async function recordedMedia(file: string): Promise<RecordedMedia> {
  const [probe, video, audio] = await Promise.all([probeFile(file), probePackets(file, 'v:0'), probePackets(file, 'a:0')]);
  return { durationSeconds: probe.durationSeconds, video: timeline(video), audio: timeline(audio) };
}

/**
 * A final file of an interview whose nodes were restarted in turn: it holds the `stretches` recorded
 * (seconds; the `outages` between them cut by the concat), less at most 2 s, what ffmpeg had not
 * written when each node stopped; never more than them, its streams ending together, with Cues.
 */
export async function expectRecordedStretches(file: string, stretches: readonly number[], outages: readonly number[]): Promise<void> {
  const expected = stretches.reduce((sum, seconds) => sum + seconds, 0);
  const media = await recordedMedia(file);
  const lost = expected - media.durationSeconds!;
  console.log(
    `${path.basename(file)}: ${media.durationSeconds} s of ${expected.toFixed(2)} s expected (${stretches.map((seconds) => seconds.toFixed(2)).join(' + ')} s; ` +
      `outages ${outages.map((seconds) => seconds.toFixed(2)).join(' and ')} s not counted): ${lost.toFixed(2)} s lost besides the outages`,
  );
  expect(lost).toBeLessThanOrEqual(2);
  expect(media.durationSeconds!).toBeLessThan(expected + 1);
  expect(Math.abs(media.video.last - media.audio.last)).toBeLessThan(0.5);
  expect(await hasCues(file)).toBe(true);
}

/** Seconds of media a raw segment file holds (its last packet time minus its first, both streams). */
export async function segmentSpanSeconds(file: string): Promise<number> {
  const media = await recordedMedia(file);
  return Math.max(media.video.last, media.audio.last) - Math.min(media.video.first, media.audio.first);
}

/**
 * Cuts the network between Chromium and the service for real: DROP rules on the loopback for the
 * service's HTTP port (signalling) and its RTC port slice (WebRTC, UDP and TCP), in a chain of
 * their own so restore() removes exactly them. (Chromium's offline emulation does not stop WebRTC.)
 * The slice also holds the recorder's PlainTransports, whose packets stop too: with the
 * candidate's media gone there is nothing for them to carry meanwhile.
 */
export class NetworkCut {
  readonly #chain: string;
  #active = false;

  constructor(
    readonly httpPort: number,
    readonly rtcMinPort: number,
    readonly rtcMaxPort: number,
  ) {
    this.#chain = `IIFAULT${httpPort}`;
  }

  /** Returns when packets stop: the moment the chain is hooked in, after the rules are built. */
  cut(): number {
    const iptables = (...args: string[]) => execFileSync('iptables', ['-w', ...args], { stdio: 'pipe' });
    iptables('-N', this.#chain);
    this.#active = true;
    const range = `${this.rtcMinPort}:${this.rtcMaxPort}`;
    for (const protocol of ['udp', 'tcp']) {
      iptables('-A', this.#chain, '-p', protocol, '--dport', range, '-j', 'DROP');
      iptables('-A', this.#chain, '-p', protocol, '--sport', range, '-j', 'DROP');
    }
    iptables('-A', this.#chain, '-p', 'tcp', '--dport', String(this.httpPort), '-j', 'DROP');
    iptables('-A', this.#chain, '-p', 'tcp', '--sport', String(this.httpPort), '-j', 'DROP');
    iptables('-I', 'INPUT', '-i', 'lo', '-j', this.#chain);
    return Date.now();
  }

  /** Idempotent: safe in afterAll whatever happened. */
  restore(): void {
    if (!this.#active) return;
    this.#active = false;
    for (const args of [['-D', 'INPUT', '-i', 'lo', '-j', this.#chain], ['-F', this.#chain], ['-X', this.#chain]]) {
      try {
        execFileSync('iptables', ['-w', ...args], { stdio: 'pipe' });
      } catch {
        // Already gone.
      }
    }
  }
}

/** Downloads a stored URL to a file next to `dir`, as the admin of the fault services. */
export async function downloadTo(url: string, dir: string, name: string): Promise<string> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

export const seconds = (ms: number): number => Math.round(ms / 10) / 100;

/** A service process with a live interview: a real candidate publishing, media flowing into a segment. */
export interface LiveInterviewScene {
  service: ServiceProcess;
  browser: TestBrowser;
  interview: { id: string; candidateUrl: string; proctorUrl: string };
  candidate: Page;
  live: InterviewState;
  /** When media started flowing into the first segment (ms since the epoch). */
  mediaFlowingAt: number;
}

/** The common start of every fault test: service and browser up, candidate live, media recorded. */
export async function startLiveInterview(env: ServiceEnv, durationSeconds: number): Promise<LiveInterviewScene> {
  buildClient();
  const [service, browser] = await Promise.all([ServiceProcess.start(env), launchBrowser()]);
  const interview = await createInterview(service, durationSeconds);
  const candidate = await startCandidate(browser, interview.candidateUrl);
  const live = await waitForInterview(service, interview.id, (state) => state.status === 'live', 'the interview to go live');
  const mediaFlowingAt = (await waitForMediaFlowing(service, 0)).time;
  return { service, browser, interview, candidate, live, mediaFlowingAt };
}

/**
 * Prints the service's last warnings and errors when a test of the file fails: a failure under load
 * is diagnosed from the service's own log. `current` returns the service in use at that moment.
 */
export function logServiceOnFailure(current: () => ServiceProcess | undefined): void {
  afterEach(({ task }) => {
    const service = current();
    if (task.result?.state !== 'fail' || !service) return;
    console.log(service.logs.filter((line) => line.level >= 40).slice(-30).map((line) => JSON.stringify(line)).join('\n'));
  });
}
