// The recording's progress as the server reports it (GET /session/:id/recording). URLs in it come
// from the server's database; pages never take a URL from their own address or from input.

import type { FileProgress, FilmstripView, InterviewStatus, RecordingGap } from '../../shared/vocabulary.ts';

export type { FileProgress, FilmstripView } from '../../shared/vocabulary.ts';

export interface RecordingStatus {
  id: string;
  status: InterviewStatus;
  completedAt: string | null;
  failureReason: string | null;
  files: FileProgress[];
  screenVideo: string;
  candidateVideo: string;
  /** When the interview went live (the recordings' first second); null before. */
  startedAt?: string | null;
  /** Stretches missing from the recordings, on the wall clock. */
  gaps?: RecordingGap[];
  /** The filmstrip of the screen recording, once made (after the recordings are saved); null before. */
  filmstrip?: FilmstripView | null;
  /** Whether a filmstrip is still to come (ask again); false once stored or when none will be. */
  filmstripComing?: boolean;
  /** The candidate's token only: where the host app wants the candidate after the end (null: nowhere). */
  returnUrl: string | null;
}


export async function fetchRecordingStatus(interviewId: string, token: string): Promise<RecordingStatus> {
  const response = await fetch(`/session/${encodeURIComponent(interviewId)}/recording`, {
    headers: { authorization: `Bearer ${token}` },
    cache: 'no-store',
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `the server answered ${response.status}`);
  }
  return (await response.json()) as RecordingStatus;
}

/** Polls until the interview is completed or failed, calling `onUpdate` with each report. */
export async function followRecording(
  interviewId: string,
  token: string,
  onUpdate: (status: RecordingStatus) => void,
  intervalMs = 500,
): Promise<RecordingStatus> {
  for (;;) {
    try {
      const status = await fetchRecordingStatus(interviewId, token);
      onUpdate(status);
      if (status.status === 'completed' || status.status === 'failed') return status;
    } catch {
      // A restarting server or a network blip: keep asking.
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
