import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { filmstripLayout, makeFilmstrip } from '../../recorder-pipeline/filmstrip/makeFilmstrip.ts';
import { finalFileOf } from '../../recorder-pipeline/recordingPaths.ts';
import { filmstripArtifact } from '../../server/delivery/artifacts/filmstripArtifact.ts';
import { isKeyFrame } from '../../recorder-pipeline/filmstrip/ivf.ts';
import { readKeyFrame, readWebmIndex } from '../../recorder-pipeline/filmstrip/webmKeyFrames.ts';
import { probeFile, probePackets } from '../support/ffprobe.ts';
import { ensureMediaFixtures } from '../support/mediaFixtures.ts';
import { tempDir } from '../support/testConfig.ts';

const run = promisify(execFile);
/** The finest spacing (FILMSTRIP_INTERVAL_SECONDS=2), to see one tile per key frame interval. */
const FINE = { minIntervalSeconds: 2 };

/** Frames of the decoded sheet as raw grey bytes, to compare two sheets. */
async function grey(file: string): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe('makeFilmstrip', () => {
  let directory: string;
  let indexed: string;
  let unindexed: string;
  beforeAll(async () => {
    const fixtures = await ensureMediaFixtures();
    directory = tempDir('filmstrip-');
    // 36 s of the screen fixture with audio, as the finalize writes it (Cues at the end) ...
    indexed = path.join(directory, 'screen.webm');
    await run('ffmpeg', ['-v', 'error', '-stream_loop', '2', '-i', fixtures.screen, '-stream_loop', '2', '-i', fixtures.audio, '-map', '0:v', '-map', '1:a', '-c', 'copy', '-f', 'webm', '-y', indexed]);
    // ... and the same written to a pipe, which leaves it without Cues.
    unindexed = path.join(directory, 'no-cues.webm');
    const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', indexed, '-map', '0', '-c', 'copy', '-f', 'webm', 'pipe:1'], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
    fs.writeFileSync(unindexed, stdout);
  });

  it('finds the video and every key frame of a final file through its headers and Cues, each frame read straight from its cluster', async () => {
    const index = await readWebmIndex(indexed);
    // Its headers replace ffprobe: codec, first frame size and duration.
    const probe = await probeFile(indexed);
    expect(index).toMatchObject({ codec: 'V_VP9', width: 1280, height: 720 });
    expect(index!.durationSeconds).toBeCloseTo(probe.durationSeconds!, 2);
    const keyPackets = (await probePackets(indexed, 'v:0')).filter((packet) => packet.keyFrame);
    expect(index?.keyFrames.map((frame) => Math.round(frame.seconds * 1000))).toEqual(keyPackets.map((packet) => Math.round(packet.ptsTime * 1000)));
    for (const keyFrame of index!.keyFrames) {
      const frame = await readKeyFrame(indexed, index!.videoTrack, keyFrame);
      expect(frame && isKeyFrame('vp9', frame)).toBe(true);
    }
    expect(await readWebmIndex(unindexed)).toBeUndefined();
  });

  it('tiles one key frame per interval, the same sheet with or without Cues', async () => {
    const [withCues, withoutCues] = await Promise.all([
      makeFilmstrip(indexed, path.join(directory, 'a.jpg'), FINE),
      makeFilmstrip(unindexed, path.join(directory, 'b.jpg'), FINE),
    ]);
    const duration = (await probeFile(indexed)).durationSeconds!;
    expect(withCues).toMatchObject({ ...filmstripLayout(duration, 1280, 720, FINE), usedIndex: true });
    expect(withoutCues).toMatchObject({ ...filmstripLayout(duration, 1280, 720, FINE), usedIndex: false });
    expect(withCues).toMatchObject({ intervalSeconds: 2, count: Math.ceil(duration / 2), columns: 10, tileWidth: 160, tileHeight: 90 });
    const sheet = await probeFile(withCues.path);
    expect(sheet.video).toMatchObject({ codecName: 'mjpeg', width: 1600, height: Math.ceil(withCues.count / 10) * 90 });
    // Both ways pick the very same key frames: the decoded sheets are identical.
    expect((await grey(withCues.path)).equals(await grey(withoutCues.path))).toBe(true);
    expect(withCues.ffmpegCpuSeconds).toBeGreaterThan(0);
  });

  it('spaces the tiles 30 s apart or more, so that a long recording has at most 120', () => {
    expect(filmstripLayout(600.02, 1920, 1080)).toEqual({ intervalSeconds: 30, count: 21, columns: 10, tileWidth: 160, tileHeight: 90 });
    expect(filmstripLayout(7200, 1920, 1080)).toEqual({ intervalSeconds: 60, count: 120, columns: 10, tileWidth: 160, tileHeight: 90 });
    expect(filmstripLayout(3600, 1280, 720)).toEqual({ intervalSeconds: 30, count: 120, columns: 10, tileWidth: 160, tileHeight: 90 });
    expect(filmstripLayout(3 * 3600, 1280, 800).count).toBeLessThanOrEqual(120);
    // FILMSTRIP_INTERVAL_SECONDS=2 (as the tests' services run): the finest spacing.
    expect(filmstripLayout(60.02, 1280, 720, FINE)).toEqual({ intervalSeconds: 2, count: 31, columns: 10, tileWidth: 160, tileHeight: 90 });
    expect(filmstripLayout(3, 1280, 1024, FINE)).toEqual({ intervalSeconds: 2, count: 2, columns: 2, tileWidth: 160, tileHeight: 128 });
  });

  it('is not made for a recording shorter than FILMSTRIP_MIN_SECONDS: the artifact is skipped, with the reason', async () => {
    const workDir = tempDir('filmstrip-work-');
    // finalFileOf(directory, 'screen') is the 36 s file.
    const recordingDir = tempDir('filmstrip-recording-');
    fs.copyFileSync(indexed, finalFileOf(recordingDir, 'screen'));
    const signal = new AbortController().signal;
    const skipped = await filmstripArtifact({ minRecordingSeconds: 37 }).make({ interviewId: 'x', directory: recordingDir, workDir, signal });
    expect(skipped).toEqual({ skipped: expect.stringMatching(/lasts 36\.\d s, under FILMSTRIP_MIN_SECONDS \(37 s\)/) });
    expect(fs.readdirSync(workDir)).toEqual([]);
    const made = await filmstripArtifact({ minRecordingSeconds: 36 }).make({ interviewId: 'x', directory: recordingDir, workDir, signal });
    expect(made).toMatchObject({ details: { intervalSeconds: 30, count: 2 } });
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(recordingDir, { recursive: true, force: true });
  });
});
