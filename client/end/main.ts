// The candidate's end page: upload progress live, then both recordings playing with audio.
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
}

void main();
