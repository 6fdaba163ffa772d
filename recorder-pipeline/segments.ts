import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * A recording directory holds one folder per ffmpeg run: segment-000/, segment-001/, … each with
 * screen.webm and candidate.webm. A new segment starts whenever ffmpeg has to be (re)started, so
 * a crashed ffmpeg never overwrites what an earlier one wrote, and the directory alone is enough
 * to finalize the recording after a service restart.
 */
const SEGMENT_PATTERN = /^segment-(\d{3,})$/;

export interface SegmentDir {
  index: number;
  dir: string;
}

export { segmentDir, segmentFile } from './recordingPaths.ts';

/** The segments present, in recording order. */
export async function listSegments(outputDir: string): Promise<SegmentDir[]> {
  const entries = await fs.readdir(outputDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ match: SEGMENT_PATTERN.exec(entry.name), name: entry.name }))
    .filter((entry): entry is { match: RegExpExecArray; name: string } => entry.match !== null)
    .map((entry) => ({ index: Number(entry.match[1]), dir: path.join(outputDir, entry.name) }))
    .sort((a, b) => a.index - b.index);
}

/**
 * The segment indexes present, in order, read synchronously: for callers that must look before
 * the recording can create its next segment (no await in between). Missing directory → none.
 */
export function segmentIndexesSync(outputDir: string): number[] {
  let names: string[];
  try {
    names = fsSync.readdirSync(outputDir);
  } catch {
    return [];
  }
  return names
    .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
    .filter((index): index is string => index !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The index the next segment gets: after every segment already in the directory. */
export async function nextSegmentIndex(outputDir: string): Promise<number> {
  const segments = await listSegments(outputDir);
  return segments.length === 0 ? 0 : segments[segments.length - 1]!.index + 1;
}

/** Beside a segment's files: when its media began on the wall clock (written as its first media is relayed). */
const MEDIA_START_FILE = 'media-start.json';
/** Beside a segment's files: its screen file's duration once repaired at finalize (what the concat adds). */
const DURATION_FILE = 'duration.json';

/** Written whole or not at all (a temporary file renamed), so a crash never leaves half of one. */
async function writeSmallJson(file: string, value: unknown): Promise<void> {
  const temporary = `${file}.tmp`;
  await fs.writeFile(temporary, JSON.stringify(value));
  await fs.rename(temporary, file);
}

async function readSmallJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export async function writeSegmentMediaStart(dir: string, at: Date): Promise<void> {
  await writeSmallJson(path.join(dir, MEDIA_START_FILE), { mediaStartedAt: at.toISOString() });
}

/** When the segment's media began; undefined when it never did (or the file is unreadable). */
export async function readSegmentMediaStart(dir: string): Promise<Date | undefined> {
  const value = (await readSmallJson(path.join(dir, MEDIA_START_FILE))) as { mediaStartedAt?: unknown } | undefined;
  if (typeof value?.mediaStartedAt !== 'string') return undefined;
  const at = new Date(value.mediaStartedAt);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export async function writeSegmentDuration(dir: string, seconds: number): Promise<void> {
  await writeSmallJson(path.join(dir, DURATION_FILE), { seconds });
}

/** The segment's repaired duration as finalize measured it; undefined before finalize (or when it held no media). */
export async function readSegmentDuration(dir: string): Promise<number | undefined> {
  const value = (await readSmallJson(path.join(dir, DURATION_FILE))) as { seconds?: unknown } | undefined;
  return typeof value?.seconds === 'number' && Number.isFinite(value.seconds) ? value.seconds : undefined;
}
