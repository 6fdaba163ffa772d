// The host's candidate page on the SDK: it publishes the streams it already holds and shows the
// SDK's events in its own words. `InterviewIngest` comes from <service>/sdk/v1/interview-ingest.js.
const { join } = window.InterviewIngest;
const show = (id, text) => (document.getElementById(id).textContent = text);
const session = join(document.body.dataset.ingestLink);
window.session = session;

session.on('state', ({ state }) => {
  show('state', state);
  document.body.dataset.state = state;
});
session.on('recording', (on) => show('recording', on ? 'Recording' : 'Not recording'));
session.on('time', ({ remainingMs }) => show('time-left', `${Math.ceil(remainingMs / 1000)} s left`));
session.on('error', (error) => {
  show('error', error.message);
  document.getElementById('error').dataset.code = error.code;
});
// The service ends the interview on its clock; the candidate then goes to this app's end page.
session.on('ended', (end) => location.assign(end.returnUrl ?? `/interview/end/${document.body.dataset.id}/`));

async function start(publish) {
  try {
    await publish();
    show('error', '');
    delete document.getElementById('error').dataset.code;
  } catch (error) {
    show('error', error.message);
    document.getElementById('error').dataset.code = error.code ?? 'host_error';
  }
}
// This app's own permission flow, then the streams it holds go to the SDK.
document.getElementById('start').addEventListener('click', () =>
  start(async () => {
    await window.askPermissions();
    await session.publish({ screen: window.entire_screen_feed, camera: window.video_feed, microphone: window.audio_feed });
  }),
);
// Or the SDK asks for them itself.
document.getElementById('start-sdk').addEventListener('click', () => start(() => session.capture()));
