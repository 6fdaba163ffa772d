// The host app's own permission flow, as it was before interview-ingest: it asks for the screen,
// the camera and the microphone, and keeps the streams in globals its other scripts use.
window.askPermissions = async function askPermissions() {
  window.entire_screen_feed = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
  window.video_feed = await navigator.mediaDevices.getUserMedia({ video: true });
  window.audio_feed = await navigator.mediaDevices.getUserMedia({ audio: true });
};
