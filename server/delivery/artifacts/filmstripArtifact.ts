import fs from 'node:fs/promises';
import path from 'node:path';
import { FILMSTRIP_DEFAULTS, makeFilmstrip, readFilmstripSource, type FilmstripLayout, type FilmstripOptions } from '../../../recorder-pipeline/filmstrip/makeFilmstrip.ts';
import { finalFileOf } from '../../../recorder-pipeline/recordingPaths.ts';
import type { ArtifactMaker } from '../RecordingArtifacts.ts';

export const FILMSTRIP_ARTIFACT = 'filmstrip';

/** The filmstrip's layout as stored in its artifact row's details (and given to the review page). */
export function filmstripLayoutOf(details: Record<string, unknown> | null): FilmstripLayout | undefined {
  if (!details) return undefined;
  const fields = ['intervalSeconds', 'count', 'columns', 'tileWidth', 'tileHeight'] as const;
  if (!fields.every((field) => typeof details[field] === 'number' && Number.isFinite(details[field]) && (details[field] as number) > 0)) return undefined;
  return Object.fromEntries(fields.map((field) => [field, details[field]])) as unknown as FilmstripLayout;
}

/**
 * `filmstrip.jpg`: thumbnails of the final screen.webm (see makeFilmstrip); none for a recording
 * shorter than `minRecordingSeconds` (FILMSTRIP_MIN_SECONDS).
 */
export function filmstripArtifact(options: FilmstripOptions & { minRecordingSeconds?: number } = {}): ArtifactMaker {
  const { minRecordingSeconds = 0, ...layout } = options;
  return {
    name: FILMSTRIP_ARTIFACT,
    fileName: 'filmstrip.jpg',
    contentType: 'image/jpeg',
    async make({ directory, workDir, signal }) {
      const screen = finalFileOf(directory, 'screen');
      if (!(await fs.stat(screen).catch(() => undefined))) throw new Error("the final screen.webm is not on this node's disk");
      // Read once: the length decides whether there is one, and the Cues say where its frames are.
      const source = await readFilmstripSource(screen);
      const seconds = source.video.durationSeconds;
      if (seconds < minRecordingSeconds) return { skipped: `the screen recording lasts ${seconds.toFixed(1)} s, under FILMSTRIP_MIN_SECONDS (${minRecordingSeconds} s)` };
      const filmstrip = await makeFilmstrip(source, path.join(workDir, 'filmstrip.jpg'), { ...FILMSTRIP_DEFAULTS, ...layout, signal });
      const { intervalSeconds, count, columns, tileWidth, tileHeight } = filmstrip;
      return { file: filmstrip.path, details: { intervalSeconds, count, columns, tileWidth, tileHeight, ffmpegCpuSeconds: filmstrip.ffmpegCpuSeconds } };
    },
  };
}
