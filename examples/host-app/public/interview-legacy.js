// The host's candidate page as it was with its old recorder.js: only the scripts and the one
// variable changed. The old timer still calls sendRecordings() at the end.
window.interviewIngestLink = document.body.dataset.ingestLink;
const show = (id, text) => (document.getElementById(id).textContent = text);
window.addEventListener('interview-ingest:state', (event) => {
  show('state', event.detail.state);
  document.body.dataset.state = event.detail.state;
});
window.addEventListener('interview-ingest:error', (event) => {
  show('error', event.detail.message);
  document.getElementById('error').dataset.code = event.detail.code;
});
document.getElementById('start').addEventListener('click', async () => {
  try {
    await window.askPermissions();
    await window.startRecording();
    show('recording', 'Recording started');
  } catch (error) {
    show('error', error.message);
    document.getElementById('error').dataset.code = error.code ?? 'host_error';
    return;
  }
  setTimeout(() => window.sendRecordings(), Number(document.body.dataset.durationSeconds) * 1000);
});
