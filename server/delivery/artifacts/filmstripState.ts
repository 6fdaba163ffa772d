import { InterviewStatus, type FilmstripView } from '../../../shared/vocabulary.ts';
import { RecordingArtifactStatus } from '../../db/RecordingArtifact.ts';
import type { PlaybackUrls } from '../../storage/PlaybackUrls.ts';
import type { RecordingArtifacts } from '../RecordingArtifacts.ts';
import { FILMSTRIP_ARTIFACT, filmstripLayoutOf } from './filmstripArtifact.ts';

export interface FilmstripState {
  /** A URL like the videos' (signed, expiring at the same time) and the layout; null while not stored. */
  filmstrip: FilmstripView | null;
  /**
   * Whether one is still to come, so a page knows to ask again: true while it is queued or being
   * made (after the URLs), and before the end where this service makes filmstrips; false once it
   * is stored, or when none will be (a recording too short for one, FILMSTRIP off, failed, deleted).
   */
  filmstripComing: boolean;
}

/** What the review page and the API get of an interview's filmstrip. */
export async function filmstripState(
  artifacts: RecordingArtifacts,
  playbackUrls: PlaybackUrls,
  interview: { id: string; status: InterviewStatus },
  now = Date.now(),
): Promise<FilmstripState> {
  const row = (await artifacts.rowsOf(interview.id)).find((candidate) => candidate.name === FILMSTRIP_ARTIFACT);
  if (row?.status === RecordingArtifactStatus.Stored) {
    const layout = filmstripLayoutOf(row.details);
    if (!layout) return { filmstrip: null, filmstripComing: false };
    const { url } = await playbackUrls.forObject(row.objectKey, now);
    return { filmstrip: { url, ...layout }, filmstripComing: false };
  }
  if (row) return { filmstrip: null, filmstripComing: row.status === RecordingArtifactStatus.Pending };
  // No row: before the URLs are stored none is written yet; once completed, none will come (a
  // skipped filmstrip's row is removed).
  const makesFilmstrips = artifacts.makers.some((maker) => maker.name === FILMSTRIP_ARTIFACT);
  return { filmstrip: null, filmstripComing: makesFilmstrips && interview.status !== InterviewStatus.Completed };
}
