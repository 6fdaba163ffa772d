// The candidate's end page: upload progress live, then both recordings playing with audio, and
// the way back to the host app (the interview's returnUrl, from the server) when there is one.
import { announce, byId, interviewIdFromPath, setText, tokenFromHash } from '../shared/page.ts';
import { followRecording, type FileProgress, type RecordingStatus } from '../shared/recordingStatus.ts';
import { END_TEXT as TEXT } from '../sdk/messages.ts';

const labels: Record<FileProgress['kind'], string> = { screen: TEXT.screenRecording, candidate: TEXT.cameraRecording };

function renderProgress(files: FileProgress[]): void {
  for (const file of files) {
    const bar = byId<HTMLProgressElement>(`progress-${file.kind}`);
    bar.max = Math.max(file.sizeBytes, 1);
    bar.value = file.status === 'uploaded' ? bar.max : file.uploadedBytes;
    const percent = file.status === 'uploaded' ? 100 : file.sizeBytes > 0 ? Math.floor((100 * file.uploadedBytes) / file.sizeBytes) : 0;
    const state = file.status === 'uploaded' ? TEXT.saved : file.status === 'uploading' ? TEXT.uploading(percent) : file.status === 'failed' ? TEXT.uploadFailed : TEXT.preparing;
    setText(`state-${file.kind}`, `${labels[file.kind]}: ${state}`);
  }
}

function showRecordings(status: RecordingStatus): void {
  if (!status.screenVideo || !status.candidateVideo) {
    announce(TEXT.nothingRecorded);
    return;
  }
  byId<HTMLVideoElement>('screen-video').src = status.screenVideo;
  byId<HTMLVideoElement>('candidate-video').src = status.candidateVideo;
  byId('recordings').hidden = false;
  announce(TEXT.recordingsSaved);
}

/** How long the page shows that the recordings are saved before it takes the candidate back. */
const RETURN_AFTER_MS = 5000;

/** The returnUrl as a link target: only an absolute http(s) URL (the server checked it at creation too). */
function returnTarget(returnUrl: string | null): string | undefined {
  if (!returnUrl) return undefined;
  try {
    const url = new URL(returnUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Leaves for the host app: the whole window, also when a host app frames this page. */
function goTo(url: string): void {
  try {
    if (window.top && window.top !== window) {
      window.top.location.href = url;
      return;
    }
  } catch {
    // The browser did not let the frame navigate its host page: this frame goes instead.
  }
  location.assign(url);
}

/** The "Continue" link back to the host app; with `redirect`, followed by itself after a few seconds. */
function offerReturn(url: string, redirect: boolean): void {
  byId<HTMLAnchorElement>('return-link').href = url;
  setText('return-note', redirect ? TEXT.takenBackIn(RETURN_AFTER_MS / 1000) : '');
  byId('return').hidden = false;
  if (redirect) setTimeout(() => goTo(url), RETURN_AFTER_MS);
}

/** The recording route's answer, with when a failed interview is tried again by the service (null: it is not). */
type EndStatus = RecordingStatus & { nextRetryAt?: string | null };

/** How often the page asks again while a failed interview waits for the service's next try. */
const RECHECK_MS = 15_000;

const statusWords: Partial<Record<RecordingStatus['status'], string>> = { finalizing: TEXT.statusSaving, completed: TEXT.statusSaved };

/** When the next try is due, as the candidate's clock shows it: "14:05", or "Tuesday 09:30" when not today. */
function clockTime(at: Date): string {
  const sameDay = at.toDateString() === new Date().toDateString();
  return at.toLocaleString([], sameDay ? { hour: '2-digit', minute: '2-digit' } : { weekday: 'long', hour: '2-digit', minute: '2-digit' });
}

function nextTryOf(status: EndStatus): Date | undefined {
  const at = status.nextRetryAt ? new Date(status.nextRetryAt) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at : undefined;
}

/** What the page said last, so a report that changes nothing is not announced again. */
let said = '';
function say(text: string, tone: 'info' | 'error' = 'info'): void {
  if (text === said) return;
  said = text;
  announce(text, tone);
}

/** Saving failed: whether the service tries again by itself, in plain words; the reason only in small print, for support. */
function showFailure(status: EndStatus): void {
  const next = nextTryOf(status);
  setText('status', next ? TEXT.statusNotSavedYet : TEXT.statusNotSaved);
  if (next) say(TEXT.retryingAutomatically(clockTime(next)), 'error');
  else say(TEXT.notSavedAskSupport, 'error');
  setText('failure-detail', status.failureReason ? `${TEXT.forSupport} ${status.failureReason}` : '');
}

function render(status: EndStatus): void {
  if (status.status !== 'failed') setText('status', statusWords[status.status] ?? TEXT.statusChecking);
  renderProgress(status.files);
  // A failed interview being tried again (by the service, or by support).
  if (status.status === 'finalizing' && said !== '') {
    say(TEXT.tryingAgain);
    setText('failure-detail', '');
  }
}

async function main(): Promise<void> {
  const token = tokenFromHash();
  const interviewId = interviewIdFromPath();
  if (!token) {
    announce(TEXT.missingToken, 'error');
    return;
  }
  let final: EndStatus = await followRecording(interviewId, token, render);
  const back = returnTarget(final.returnUrl);
  // While saving failed and the service will try again, the page waits for that try and follows it.
  while (final.status === 'failed') {
    showFailure(final);
    // After a failure the candidate reads why first: the way back is offered, not taken by itself.
    if (back && byId('return').hidden) offerReturn(back, false);
    if (!nextTryOf(final)) return;
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
    final = await followRecording(interviewId, token, render);
  }
  if (final.status !== 'completed') return;
  setText('failure-detail', '');
  showRecordings(final);
  // Taken back by itself only when the uploads finished at the first go.
  if (back && byId('return').hidden) offerReturn(back, true);
}

void main();
