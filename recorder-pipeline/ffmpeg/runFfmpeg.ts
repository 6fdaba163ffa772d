import ffmpeg from 'fluent-ffmpeg';
import { FfmpegProcess, type FfmpegProcessOptions } from './FfmpegProcess.ts';

/** Runs a short ffmpeg job (remux, concat) to completion; rejects with its last stderr lines. */
export async function runFfmpeg(job: Pick<FfmpegProcessOptions, 'inputs' | 'outputs'>): Promise<void> {
  const { code, signal, stderrTail } = await (await FfmpegProcess.start(job)).exited;
  if (code === 0) return;
  const tail = stderrTail.slice(-5).join(' | ');
  // Worded as fluent-ffmpeg's own errors, so logs and an interview's failureReason read as before.
  const exit = signal ? `ffmpeg was killed with signal ${signal}` : `ffmpeg exited with code ${code}`;
  throw new Error(`${exit}${tail ? `: ${tail}` : ''}`);
}

/** Duration in seconds and stream count by ffprobe; undefined when the file does not parse. */
export function probeDuration(file: string): Promise<{ durationSeconds: number | undefined; streams: number } | undefined> {
  return new Promise((resolve) => {
    ffmpeg.ffprobe(file, (error, data) => {
      if (error) return resolve(undefined);
      const duration = Number(data.format.duration);
      resolve({ durationSeconds: Number.isFinite(duration) ? duration : undefined, streams: data.streams.length });
    });
  });
}
