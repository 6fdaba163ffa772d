import fs from 'node:fs/promises';
import { listSegments, readSegmentDuration, readSegmentMediaStart, segmentFile } from '../../recorder-pipeline/segments.ts';

/**
 * One ffmpeg run of the recording as the timeline sees it: when its media began on the wall clock
 * (undefined: it never flowed) and how many seconds it adds to the final files.
 */
export interface SegmentTime {
  index: number;
  mediaStartedAt: Date | undefined;
  /** Measured at finalize (the repaired segment's duration), else estimated from its last write; undefined while it is being written. */
  seconds: number | undefined;
}

/**
 * Where the wall-clock instant `at` falls in the final recordings (seconds from their start).
 *
 * Within a segment, outages keep their wall-clock length (the relay bridges them), so the offset is
 * the segments before it plus the time since its media began. Between segments (a recorder or
 * service restart) the final concat cuts the down time: an instant in that cut lands at the cut.
 * Null before the recording's media began.
 */
export function mediaSecondsAt(at: Date, segments: readonly SegmentTime[]): number | null {
  const timed = segments.filter((segment): segment is SegmentTime & { mediaStartedAt: Date } => segment.mediaStartedAt !== undefined);
  if (timed.length === 0 || at < timed[0]!.mediaStartedAt) return null;
  let offset = 0;
  for (const [position, segment] of timed.entries()) {
    if (at < segment.mediaStartedAt) return round(offset);
    const into = (at.getTime() - segment.mediaStartedAt.getTime()) / 1000;
    const last = position === timed.length - 1;
    if (segment.seconds === undefined) return round(offset + into);
    if (into <= segment.seconds || last) return round(offset + Math.min(into, segment.seconds));
    offset += segment.seconds;
  }
  return round(offset);
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/**
 * The recording's segments on disk with their media starts and lengths: the finalize's measured
 * duration where there is one; else, for any segment but the last, its last write minus its start
 * (ffmpeg flushes at least every second); the last one is open-ended.
 */
export async function readSegmentTimes(recordingDir: string): Promise<SegmentTime[]> {
  const segments = await listSegments(recordingDir).catch(() => []);
  const times: SegmentTime[] = [];
  for (const [position, segment] of segments.entries()) {
    const mediaStartedAt = await readSegmentMediaStart(segment.dir);
    let seconds = await readSegmentDuration(segment.dir);
    if (seconds === undefined && mediaStartedAt && position < segments.length - 1) {
      const stat = await fs.stat(segmentFile(segment.dir, 'screen')).catch(() => undefined);
      if (stat) seconds = Math.max(0, (stat.mtimeMs - mediaStartedAt.getTime()) / 1000);
    }
    times.push({ index: segment.index, mediaStartedAt, seconds });
  }
  return times;
}
