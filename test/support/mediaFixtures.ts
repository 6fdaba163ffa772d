import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot } from '../../scripts/mediasoup-worker.mjs';

const run = promisify(execFile);

/**
 * Pre-encoded test media for the synthetic publisher: VP9 "screen" (1280×720, ~2.5 Mbit/s) and
 * "camera" (640×480, ~1.5 Mbit/s), both 30 fps with a key frame every 2 s, no alt-ref frames and
 * bounded key frame size (as WebRTC encoders send), and Opus stereo 48 kHz. Encoded once with ffmpeg's lavfi sources into
 * the cache, so tests only ever stream-copy them. An entry counts only when its stamp (written
 * last) matches the files and each file probes as expected: missing or damaged fixtures are
 * encoded again.
 */
export interface MediaFixtures {
  screen: string;
  camera: string;
  audio: string;
}

export const FIXTURE_SECONDS = 12;
export const fixtureSpecs = {
  screen: { codec: 'vp9', width: 1280, height: 720, bitrate: 2_500_000 },
  camera: { codec: 'vp9', width: 640, height: 480, bitrate: 1_500_000 },
  audio: { codec: 'opus', sampleRate: 48000, channels: 2, bitrate: 64_000 },
} as const;

const VERSION = 'v2';

export function fixturesDir(): string {
  return path.join(cacheRoot(), 'fixtures', VERSION);
}

function fixturePaths(dir: string): MediaFixtures {
  return { screen: path.join(dir, 'screen.webm'), camera: path.join(dir, 'camera.webm'), audio: path.join(dir, 'audio.webm') };
}

export async function ensureMediaFixtures(): Promise<MediaFixtures> {
  const dir = fixturesDir();
  const paths = fixturePaths(dir);
  if (await fixturesAreValid(dir, paths)) return paths;
  await fs.mkdir(path.dirname(dir), { recursive: true });
  // Encode into a private directory and move it into place whole: two test files may race here.
  const staging = await fs.mkdtemp(`${dir}.tmp-`);
  try {
    const staged = fixturePaths(staging);
    await encodeFixtures(staged);
    const stamp = { version: VERSION, sizes: Object.fromEntries(await Promise.all(Object.entries(staged).map(async ([name, file]) => [name, (await fs.stat(file)).size]))) };
    await fs.writeFile(path.join(staging, 'stamp.json'), JSON.stringify(stamp));
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process put a complete set in place first: use theirs.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  if (!(await fixturesAreValid(dir, paths))) throw new Error(`media fixtures in ${dir} are still invalid after encoding`);
  return paths;
}

async function fixturesAreValid(dir: string, paths: MediaFixtures): Promise<boolean> {
  try {
    const stamp = JSON.parse(await fs.readFile(path.join(dir, 'stamp.json'), 'utf8')) as { version: string; sizes: Record<string, number> };
    if (stamp.version !== VERSION) return false;
    for (const [name, file] of Object.entries(paths)) {
      if ((await fs.stat(file)).size !== stamp.sizes[name]) return false;
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', file]);
      const probe = JSON.parse(stdout) as { format?: { duration?: string }; streams?: Array<{ codec_name?: string }> };
      const expected = fixtureSpecs[name as keyof MediaFixtures].codec;
      if (probe.streams?.[0]?.codec_name !== expected) return false;
      if (Math.abs(Number(probe.format?.duration) - FIXTURE_SECONDS) > 0.5) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function encodeFixtures(paths: MediaFixtures): Promise<void> {
  const vp9 = (spec: { width: number; height: number; bitrate: number }, source: string, output: string) => [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `${source}=size=${spec.width}x${spec.height}:rate=30`,
    '-t', String(FIXTURE_SECONDS),
    // Temporal noise keeps the encoder near its target bitrate, like a real camera or screen share.
    '-vf', 'noise=alls=6:allf=t',
    '-c:v', 'libvpx-vp9', '-b:v', String(spec.bitrate), '-minrate', String(spec.bitrate), '-maxrate', String(spec.bitrate),
    // Key frames at most 3× an average frame, as WebRTC encoders keep them: the first key frame is
    // otherwise ~200 KB, which ffmpeg sends as one burst of ~200 packets and UDP buffers drop.
    '-bufsize', String(spec.bitrate / 2), '-max-intra-rate', '300',
    '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1',
    '-g', '60', '-keyint_min', '60', '-lag-in-frames', '0', '-auto-alt-ref', '0',
    '-pix_fmt', 'yuv420p', '-an', '-f', 'webm', output,
  ];
  const audio = fixtureSpecs.audio;
  await Promise.all([
    run('ffmpeg', vp9(fixtureSpecs.screen, 'testsrc2', paths.screen)),
    run('ffmpeg', vp9(fixtureSpecs.camera, 'testsrc', paths.camera)),
    run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${audio.sampleRate}`,
      '-t', String(FIXTURE_SECONDS), '-ac', String(audio.channels),
      '-c:a', 'libopus', '-b:a', String(audio.bitrate), '-f', 'webm', paths.audio,
    ]),
  ]);
}
