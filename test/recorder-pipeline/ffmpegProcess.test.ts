import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { FfmpegProcess } from '../../recorder-pipeline/ffmpeg/FfmpegProcess.ts';
import { probeDuration, runFfmpeg } from '../../recorder-pipeline/ffmpeg/runFfmpeg.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

/** A source that never ends on its own: 64×64 test pattern at real-time speed. */
const endlessInput = { path: 'testsrc=size=64x64:rate=10', options: ['-hide_banner', '-nostats', '-loglevel', 'warning', '-re', '-f', 'lavfi'] };

describe('an ffmpeg process', () => {
  const dir = tempDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function startEndless(name: string): Promise<{ ffmpeg: FfmpegProcess; output: string }> {
    const output = path.join(dir, name);
    const ffmpeg = await FfmpegProcess.start({ inputs: [endlessInput], outputs: [{ path: output, options: ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-f', 'matroska', '-cluster_time_limit', '200', '-flush_packets', '1', '-y'] }] });
    // Running, not just spawned: it has written clusters of frames after its header.
    await waitFor(() => fs.existsSync(output) && fs.statSync(output).size > 10_000, { what: `${name} to grow` });
    return { ffmpeg, output };
  }

  it('stops gracefully when asked: a clean exit marked requested, and a file with its duration written', async () => {
    const { ffmpeg, output } = await startEndless('stopped.mkv');
    expect(ffmpeg.hasExited).toBe(false);
    const stopping = ffmpeg.stop();
    expect(ffmpeg.stop()).toBe(stopping);
    const exit = await stopping;
    // 0 when it acted on 'q', 255 when the SIGINT 50 ms later came first: both write the trailers.
    expect(exit).toMatchObject({ signal: null, requested: true });
    expect([0, 255]).toContain(exit.code);
    expect(ffmpeg.hasExited).toBe(true);
    expect(await ffmpeg.exited).toBe(exit);
    // Only a graceful end writes the Matroska duration: a killed ffmpeg leaves none.
    expect((await probeDuration(output))?.durationSeconds).toBeGreaterThan(0);
  });

  it('is killed at once by kill(), and says so in its exit', async () => {
    const { ffmpeg, output } = await startEndless('killed.mkv');
    const exit = await ffmpeg.kill();
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', requested: true });
    expect((await probeDuration(output))?.durationSeconds).toBeUndefined();
  });

  it('exits on its own with its error in the stderr tail, not marked requested', async () => {
    const missing = path.join(dir, 'missing.webm');
    const ffmpeg = await FfmpegProcess.start({
      inputs: [{ path: missing, options: ['-loglevel', 'debug'] }],
      outputs: [{ path: path.join(dir, 'never.webm'), options: ['-c', 'copy'] }],
      stderrLines: 3,
    });
    const exit = await ffmpeg.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.requested).toBe(false);
    // -loglevel debug writes dozens of lines before the error: only the last three are kept.
    expect(exit.stderrTail).toHaveLength(3);
    expect(exit.stderrTail.at(-1)).toContain('No such file or directory');
  });

  it('ends its input when the stream piped into it fails, instead of waiting for more', async () => {
    const input = new Readable({ read() {} });
    const ffmpeg = await FfmpegProcess.start({
      inputs: [{ path: 'pipe:0', options: ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'matroska'] }],
      outputs: [{ path: path.join(dir, 'from-stdin.webm'), options: ['-c', 'copy', '-f', 'webm', '-y'] }],
      stdin: input,
    });
    input.destroy(new Error('the source went away'));
    const exit = await ffmpeg.exited;
    expect(exit.requested).toBe(false);
    expect(exit.code).not.toBe(0);
  });
});

describe('runFfmpeg', () => {
  it('rejects with the exit code and the last stderr lines of a failed job', async () => {
    const dir = tempDir();
    try {
      await expect(runFfmpeg({ inputs: [{ path: path.join(dir, 'missing.webm') }], outputs: [{ path: path.join(dir, 'out.webm'), options: ['-c', 'copy'] }] })).rejects.toThrow(
        /^ffmpeg exited with code 1: .*missing\.webm: No such file or directory/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
