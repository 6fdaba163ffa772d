// The permission flow, for a host page that has none of its own (and for our candidate page):
// the entire screen (with system audio when the browser offers it), then camera and microphone.
// Each refusal is an IngestError with its code; what this module captured and refused is stopped.
import type { ScreenSource } from '../../shared/vocabulary.ts';
import { missingDevices } from './capabilities.ts';
import { IngestError, type TrackRole } from './IngestError.ts';
import { howToShareEntireScreen } from './messages.ts';
import { browserFamily, judgeScreenTrack } from './screenCheck.ts';

function explain(error: unknown, device: TrackRole | 'camera and microphone'): IngestError {
  const name = error instanceof DOMException ? error.name : '';
  const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    // One prompt asks for both camera and microphone: the message names both.
    if (device === 'camera and microphone') return new IngestError('permission_denied', { device: 'camera', cause }, { message: 'Permission to use your camera and microphone was refused.' });
    return new IngestError('permission_denied', { device, cause });
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    if (device === 'screen') return new IngestError('device_failed', { device, cause }, { message: 'No screen could be shared.' });
    // Which one is missing is told apart by the caller (missingDevices); both, until it knows.
    return new IngestError('no_camera', { device: 'camera', cause }, { message: 'No camera and no microphone were found. Connect them and try again.' });
  }
  return new IngestError('device_failed', { device: device === 'camera and microphone' ? 'camera' : device, cause }, {
    message: `Your ${device} could not be started (${error instanceof Error ? error.message : String(error)}).`,
  });
}

export interface ScreenCapture {
  video: MediaStreamTrack;
  /** System audio shared with the screen, when the browser and the candidate allowed it. */
  audio: MediaStreamTrack | null;
  /** What could be established about the share (sent with the screen producer, shown to proctors). */
  source: ScreenSource;
}

/**
 * Must run inside a click handler (browsers require a user gesture). Only a whole monitor is
 * accepted: a share the browser (or the evidence, where it says nothing) shows to be a tab or a
 * window is stopped at once and refused as not_entire_screen, with what to pick in this browser.
 */
export async function captureScreen(): Promise<ScreenCapture> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
  } catch (error) {
    throw explain(error, 'screen');
  }
  const video = stream.getVideoTracks()[0];
  const stopAll = () => stream.getTracks().forEach((track) => track.stop());
  if (!video) {
    stopAll();
    throw new IngestError('not_a_screen', {}, { message: `Your browser shared no picture of your screen. ${howToShareEntireScreen(browserFamily(navigator.userAgent))}` });
  }
  let source: ScreenSource;
  try {
    source = judgeScreenTrack(video);
  } catch (error) {
    stopAll();
    throw error;
  }
  return { video, audio: stream.getAudioTracks()[0] ?? null, source };
}

export async function captureCameraAndMicrophone(): Promise<{ camera: MediaStreamTrack; microphone: MediaStreamTrack }> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
      audio: { echoCancellation: true, noiseSuppression: true },
    });
  } catch (error) {
    const refusal = explain(error, 'camera and microphone');
    if (refusal.code !== 'no_camera') throw refusal;
    // Name the one that is missing: the device list tells kinds apart without a permission.
    const missing = await missingDevices();
    if (missing.length === 1) throw new IngestError(missing[0] === 'camera' ? 'no_camera' : 'no_microphone', { cause: refusal.details.cause });
    throw refusal;
  }
  const camera = stream.getVideoTracks()[0];
  const microphone = stream.getAudioTracks()[0];
  if (!camera || !microphone) {
    for (const track of stream.getTracks()) track.stop();
    throw new IngestError(camera ? 'no_microphone' : 'no_camera');
  }
  return { camera, microphone };
}
