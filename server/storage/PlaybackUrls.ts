import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { MediaSignatures } from '../auth/MediaSignatures.ts';
import { RECORDING_FILE_KINDS, recordingObjectKey, type RecordingFileKind } from '../db/RecordingFile.ts';
import type { ObjectStore } from './ObjectStore.ts';
import { timelineObjectKey } from '../db/TimelineEntry.ts';

export interface PlaybackUrlsOptions {
  objectStore: ObjectStore;
  signatures: MediaSignatures;
  /** This service's PUBLIC_URL, the origin of the signed `/media/...` URLs. */
  publicUrl: string;
  ttlSeconds: number;
  /** S3_PRESIGNED_URLS: hand out the object store's own presigned GET URLs. */
  presigned: boolean;
}

/** URLs a page may play, valid for a limited time; null fields where nothing was recorded. */
export interface Playback {
  screenVideo: string;
  candidateVideo: string;
  /** timeline.vtt (the events as WebVTT), signed like the videos; null until stored. */
  timelineVtt: string | null;
  /** When the URLs stop working; null when they never do (a public bucket). */
  expiresAt: string | null;
}

const storedField = { screen: 'screenVideo', candidate: 'candidateVideo' } as const satisfies Record<RecordingFileKind, keyof Playback>;

/**
 * Turns the stable URLs stored on an interview into the URLs handed to pages: signed
 * `/media/...` URLs when this service serves the recordings, presigned object-store URLs with
 * S3_PRESIGNED_URLS, and the stored public-bucket URLs unchanged otherwise (the operator chose a
 * public bucket). Stored URLs never change.
 */
export class PlaybackUrls {
  readonly #options: PlaybackUrlsOptions;

  constructor(options: PlaybackUrlsOptions) {
    this.#options = options;
  }

  async forInterview(interview: { id: string; screenVideo: string; candidateVideo: string; timelineVtt?: string }, now = Date.now()): Promise<Playback> {
    const playback: Playback = { screenVideo: '', candidateVideo: '', timelineVtt: null, expiresAt: null };
    let expiresAt: Date | undefined;
    for (const kind of RECORDING_FILE_KINDS) {
      const stored = interview[storedField[kind]];
      if (!stored) continue;
      const { url, expires } = await this.#playable(stored, recordingObjectKey(interview.id, kind), now);
      playback[storedField[kind]] = url;
      if (expires && (!expiresAt || expires < expiresAt)) expiresAt = expires;
    }
    if (interview.timelineVtt) {
      const { url, expires } = await this.#playable(interview.timelineVtt, timelineObjectKey(interview.id), now);
      playback.timelineVtt = url;
      if (expires && (!expiresAt || expires < expiresAt)) expiresAt = expires;
    }
    playback.expiresAt = expiresAt?.toISOString() ?? null;
    return playback;
  }

  /**
   * A URL a page may fetch one other stored object by (an artifact beside the recordings, such as
   * the filmstrip), made the same way as the videos' from the URL it would be stored under.
   */
  async forObject(key: string, now = Date.now()): Promise<{ url: string; expiresAt: string | null }> {
    const { url, expires } = await this.#playable(this.#options.objectStore.publicUrlFor(key, this.#options.publicUrl), key, now);
    return { url, expiresAt: expires?.toISOString() ?? null };
  }

  async #playable(stored: string, key: string, now: number): Promise<{ url: string; expires?: Date }> {
    const { objectStore, signatures, publicUrl, ttlSeconds, presigned } = this.#options;
    const publicBase = objectStore.settings.publicBaseUrl;
    if (publicBase && stored.startsWith(`${publicBase}/`)) {
      if (!presigned) return { url: stored };
      const url = await getSignedUrl(objectStore.client, new GetObjectCommand({ Bucket: objectStore.bucket, Key: key }), { expiresIn: ttlSeconds });
      return { url, expires: new Date(now + ttlSeconds * 1000) };
    }
    // Served here (also when PUBLIC_URL changed since the URL was stored): built on today's origin.
    const { query, expiresAt } = signatures.sign(key, ttlSeconds, now);
    return { url: `${publicUrl}/media/${key.split('/').map(encodeURIComponent).join('/')}?${query}`, expires: expiresAt };
  }
}
