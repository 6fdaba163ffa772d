import type { FilmstripView } from '../../../shared/vocabulary.ts';
import { RecordingArtifactStatus } from '../../db/RecordingArtifact.ts';
import type { PlaybackUrls } from '../../storage/PlaybackUrls.ts';
import type { RecordingArtifacts } from '../RecordingArtifacts.ts';
import { FILMSTRIP_ARTIFACT, filmstripLayoutOf } from './filmstripArtifact.ts';

/**
 * What the review page gets of the filmstrip: a URL like the videos' (signed, expiring at the same
 * time) and the layout. Null while it is not stored (being made, failed, off, deleted).
 */
export async function filmstripView(artifacts: RecordingArtifacts, playbackUrls: PlaybackUrls, interviewId: string, now = Date.now()): Promise<FilmstripView | null> {
  const row = (await artifacts.rowsOf(interviewId)).find((candidate) => candidate.name === FILMSTRIP_ARTIFACT);
  if (!row || row.status !== RecordingArtifactStatus.Stored) return null;
  const layout = filmstripLayoutOf(row.details);
  if (!layout) return null;
  const { url } = await playbackUrls.forObject(row.objectKey, now);
  return { url, ...layout };
}
