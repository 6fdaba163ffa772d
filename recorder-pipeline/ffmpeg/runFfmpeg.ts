import ffmpeg from 'fluent-ffmpeg';

export interface FfmpegJob {
  inputs: Array<{ path: string; options?: string[] }>;
  output: string;
  outputOptions: string[];
}

/** Runs a short ffmpeg job (remux, concat) to completion; rejects with its last stderr lines. */
export function runFfmpeg(job: FfmpegJob): Promise<void> {
  return new Promise((resolve, reject) => {
    const command = ffmpeg();
    for (const input of job.inputs) {
      command.input(input.path);
      if (input.options) command.inputOptions(input.options);
    }
    command
      .output(job.output)
      .outputOptions(job.outputOptions)
      .on('end', () => resolve())
      .on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
        const tail = (stderr ?? '').split('\n').filter(Boolean).slice(-5).join(' | ');
        reject(new Error(`${error.message}${tail ? `: ${tail}` : ''}`));
      })
      .run();
  });
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
