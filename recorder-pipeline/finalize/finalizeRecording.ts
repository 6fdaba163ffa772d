import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { probeDuration, runFfmpeg } from '../ffmpeg/runFfmpeg.ts';
import { listSegments, segmentFile, writeSegmentDuration } from '../segments.ts';
import { recordedFiles, type RecordedFile } from '../tracks.ts';

export interface FinalizedRecording {
  screenPath: string;
  candidatePath: string;
  /** Segments that contributed media (a segment whose ffmpeg died before writing any is skipped). */
  segments: number;
}

/**
 * The recording holds no media at all: its recorder started but no frame reached a file (the
 * interview ended within a moment of going live). Nothing was lost, so this is not a failure to
 * retry; callers complete the interview without recordings.
 */
export class NoRecordedMediaError extends Error {
  constructor(outputDir: string) {
    super(`no segment of ${outputDir} holds any media`);
    this.name = 'NoRecordedMediaError';
  }
}

/** Every stream, copied; leading frames before the first key frame kept (see finalizeRecording). */
const REMUX_OPTIONS = ['-map', '0', '-c', 'copy', '-copyinkf', '-f', 'webm', '-y'];

export interface FinalizeOptions {
  logger?: Logger;
}

/**
 * Turns a recording directory into the two deliverables, `screen.webm` and `candidate.webm`, next
 * to the segments. Needs nothing but the directory, so it also runs after a service restart.
 *
 * Each segment file is first remuxed on its own: that restores the key frame flags ffmpeg 5.1's
 * RTP depacketizer never sets, and repairs files an ffmpeg was SIGKILLed writing (no duration,
 * truncated last cluster: they decode up to their last bytes). The repaired segments are then
 * concatenated (`-c copy`), which writes duration and Cues, so the result is seekable. Leading
 * frames before the first key frame are kept (`-copyinkf`) so audio and video still start together.
 */
export async function finalizeRecording(outputDir: string, options: FinalizeOptions = {}): Promise<FinalizedRecording> {
  const segments = await listSegments(outputDir);
  if (segments.length === 0) throw new NoRecordedMediaError(outputDir);
  const workDir = path.join(outputDir, '.finalize');
  await fs.rm(workDir, { recursive: true, force: true });
  await fs.mkdir(workDir, { recursive: true });
  try {
    const repairedParts = {} as Record<RecordedFile, string[]>;
    let unreadable = false;
    for (const file of recordedFiles) {
      repairedParts[file] = [];
      for (const segment of segments) {
        const repaired = path.join(workDir, `${file}-${segment.index}.webm`);
        const outcome = await repairSegment(segmentFile(segment.dir, file), repaired, options.logger);
        if (outcome.kind === 'media') repairedParts[file].push(repaired);
        // What this segment adds to the screen file (the concat's offset for the next one): the
        // timeline's media times are recomputed from it.
        if (file === 'screen') await writeSegmentDuration(segment.dir, outcome.kind === 'media' ? outcome.seconds : 0);
        unreadable ||= outcome.kind === 'unreadable';
      }
    }
    // Only files that were never written mean "no media"; a file ffmpeg cannot read is a failure
    // worth keeping on disk and reporting.
    if (!unreadable && recordedFiles.every((file) => repairedParts[file].length === 0)) throw new NoRecordedMediaError(outputDir);

    const results = {} as Record<RecordedFile, { path: string; segments: number }>;
    for (const file of recordedFiles) {
      const parts = repairedParts[file];
      if (parts.length === 0) throw new Error(`no segment of ${outputDir} holds any ${file} media`);
      const target = path.join(outputDir, `${file}.webm`);
      const staged = path.join(workDir, `${file}.webm`);
      if (parts.length === 1) {
        await fs.rename(parts[0]!, staged);
      } else {
        const list = path.join(workDir, `${file}.concat.txt`);
        await fs.writeFile(list, parts.map((part) => `file '${part.replaceAll("'", "'\\''")}'\n`).join(''));
        await runFfmpeg({
          inputs: [{ path: list, options: ['-f', 'concat', '-safe', '0'] }],
          outputs: [{ path: staged, options: REMUX_OPTIONS }],
        });
      }
      // Rename last: a finalize that dies half-way leaves no half-written deliverable behind.
      await fs.rename(staged, target);
      results[file] = { path: target, segments: parts.length };
    }
    return { screenPath: results.screen.path, candidatePath: results.candidate.path, segments: Math.max(results.screen.segments, results.candidate.segments) };
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Remuxes one segment file: `media` when it holds some, `empty` when ffmpeg never wrote a frame
 * into it (missing, empty, or a header without duration), `unreadable` when ffmpeg cannot read it.
 */
async function repairSegment(source: string, target: string, logger: Logger | undefined): Promise<{ kind: 'media'; seconds: number } | { kind: 'empty' | 'unreadable' }> {
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat || stat.size === 0) {
    logger?.warn({ source }, 'segment file missing or empty; skipped');
    return { kind: 'empty' };
  }
  try {
    await runFfmpeg({ inputs: [{ path: source }], outputs: [{ path: target, options: REMUX_OPTIONS }] });
  } catch (error) {
    logger?.warn({ source, err: error }, 'segment file could not be remuxed; skipped');
    return { kind: 'unreadable' };
  }
  const probe = await probeDuration(target);
  if (!probe || !probe.durationSeconds || probe.durationSeconds <= 0) {
    logger?.warn({ source }, 'segment file holds no media; skipped');
    return { kind: 'empty' };
  }
  return { kind: 'media', seconds: probe.durationSeconds };
}
