import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, onTestFinished } from 'vitest';
import { trackNames } from '../../recorder-pipeline/tracks.ts';
import type { InterviewView } from '../../server/lifecycle/InterviewService.ts';
import { SyntheticPublisher } from './syntheticPublisher.ts';
import { tempDir, waitFor } from './testConfig.ts';
import { TEST_ADMIN_TOKEN, asAdmin, type TestService } from './testService.ts';

const run = promisify(execFile);

export type { InterviewView };

export async function getInterview(t: TestService, id: string): Promise<InterviewView> {
  const { status, body } = await t.api<InterviewView>('GET', `/api/interviews/${id}`);
  if (status !== 200) throw new Error(`GET interview answered ${status}`);
  return body;
}

export function waitForStatus(t: TestService, id: string, wanted: string | string[], timeoutMs = 60_000): Promise<InterviewView> {
  const accepted = Array.isArray(wanted) ? wanted : [wanted];
  return waitFor(
    async () => {
      const interview = await getInterview(t, id);
      return accepted.includes(interview.status) ? interview : null;
    },
    { timeoutMs, intervalMs: 200, what: `interview ${id} to be ${accepted.join(' or ')}` },
  );
}

/**
 * Publishes pre-encoded VP9 + Opus into the interview's room through PlainTransport producers, as a
 * candidate's browser would through WebRTC: the room, recorder and uploader cannot tell.
 */
export async function publishSynthetic(t: TestService, interviewId: string): Promise<SyntheticPublisher> {
  const room = await t.service.sessions.open(interviewId).openRoom();
  const publisher = await SyntheticPublisher.start({ router: room.router });
  for (const track of trackNames) room.adoptProducer(track, publisher.producers[track]);
  return publisher;
}

/** Waits until the interview's recording has written at least `bytes` of screen.webm. */
export async function waitForRecordedBytes(t: TestService, interviewId: string, bytes: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const recording = await t.service.sessions.get(interviewId)?.recording;
      return recording && (await recording.stats()).bytesWritten.screen >= bytes;
    },
    { timeoutMs, intervalMs: 200, what: `${bytes} bytes of screen recording` },
  );
}

/** Downloads a stored URL to a temporary file as the admin (stored URLs need a token or a signature). */
export async function download(url: string, adminToken = TEST_ADMIN_TOKEN): Promise<string> {
  const response = await fetch(url, { headers: asAdmin(adminToken) });
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  const directory = tempDir('download-');
  // Removed when the test that downloaded it ends (every caller reads the file within its test).
  onTestFinished(() => fs.rmSync(directory, { recursive: true, force: true }));
  const file = path.join(directory, path.basename(new URL(url).pathname));
  fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

/** One MD5 per audio packet, copied not decoded: equal lists mean the very same audio. */
export async function audioPacketHashes(file: string): Promise<string[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(',').at(-1)!.trim());
}

/**
 * How many audio packets two files share in the same order. One ffmpeg writes the same audio into
 * both; each file may start or stop a few packets apart (its video decides its first cluster).
 * Every shift within `maxShift` packets is tried, because a single anchor packet is not unique:
 * silent Opus frames are byte-identical, so matching one of them can pick the wrong alignment.
 */
export function sharedAudioRun(a: string[], b: string[], maxShift = 100): number {
  let best = 0;
  for (let offset = -maxShift; offset <= maxShift; offset++) {
    let same = 0;
    for (let i = Math.max(0, -offset); i < a.length && i + offset < b.length; i++) if (a[i] === b[i + offset]) same++;
    best = Math.max(best, same);
  }
  return best;
}

/** A test's service and synthetic candidate, closed (publisher first) after each test. */
export interface SyntheticScene {
  t: TestService | undefined;
  publisher: SyntheticPublisher | undefined;
}

export function useSyntheticScene(): SyntheticScene {
  const scene: SyntheticScene = { t: undefined, publisher: undefined };
  afterEach(async () => {
    await scene.publisher?.close();
    await scene.t?.close();
    scene.publisher = scene.t = undefined;
  });
  return scene;
}

/** A candidate who publishes until `bytes` are recorded, then leaves (closes every track); when they left. */
export async function recordThenLeave(t: TestService, interviewId: string, scene: SyntheticScene, bytes = 100_000): Promise<number> {
  scene.publisher = await publishSynthetic(t, interviewId);
  await waitForRecordedBytes(t, interviewId, bytes);
  await scene.publisher.close();
  scene.publisher = undefined;
  return Date.now();
}
