// The candidate's end page: upload progress live, then both recordings playing with audio, and
// the way back to the host app (the interview's returnUrl, from the server) when there is one.
import { announce, byId, interviewIdFromPath, setText, tokenFromHash } from '../shared/page.ts';
import { followRecording, type FileProgress, type RecordingStatus } from '../shared/recordingStatus.ts';

const labels: Record<FileProgress['kind'], string> = { screen: 'Screen recording', candidate: 'Camera recording' };

function renderProgress(files: FileProgress[]): void {
  for (const file of files) {
    const bar = byId<HTMLProgressElement>(`progress-${file.kind}`);
    bar.max = Math.max(file.sizeBytes, 1);
    bar.value = file.status === 'uploaded' ? bar.max : file.uploadedBytes;
    const percent = file.status === 'uploaded' ? 100 : file.sizeBytes > 0 ? Math.floor((100 * file.uploadedBytes) / file.sizeBytes) : 0;
    const state = file.status === 'uploaded' ? 'saved' : file.status === 'uploading' ? `uploading, ${percent}%` : file.status === 'failed' ? 'upload failed' : 'preparing';
    setText(`state-${file.kind}`, `${labels[file.kind]}: ${state}`);
  }
}

function showRecordings(status: RecordingStatus): void {
  if (!status.screenVideo || !status.candidateVideo) {
    announce('The interview ended before any media was recorded.');
    return;
  }
  byId<HTMLVideoElement>('screen-video').src = status.screenVideo;
  byId<HTMLVideoElement>('candidate-video').src = status.candidateVideo;
  byId('recordings').hidden = false;
  announce('Your recordings are saved.');
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
  setText('return-note', redirect ? `You will be taken back in ${RETURN_AFTER_MS / 1000} seconds.` : '');
  byId('return').hidden = false;
  if (redirect) setTimeout(() => goTo(url), RETURN_AFTER_MS);
}

async function main(): Promise<void> {
  const token = tokenFromHash();
  const interviewId = interviewIdFromPath();
  if (!token) {
    announce('This page needs the link you were given; it is missing its access token.', 'error');
    return;
  }
  const final = await followRecording(interviewId, token, (status) => {
    setText('status', status.status === 'finalizing' ? 'Saving your recordings…' : status.status);
    renderProgress(status.files);
  });
  if (final.status === 'completed') showRecordings(final);
  else announce(`Saving the recordings failed (${final.failureReason ?? 'unknown reason'}). They are kept on the server and will be retried.`, 'error');
  // Taken back by itself only once the uploads finished; after a failure the candidate reads why first.
  const back = returnTarget(final.returnUrl);
  if (back) offerReturn(back, final.status === 'completed');
}

void main();
