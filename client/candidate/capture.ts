// Getting the candidate's media: the entire screen (with system audio when the browser offers it),
// then camera and microphone. Each refusal is a typed error the page explains.
import type { ScreenSource } from '../../shared/protocol.ts';
import { browserFamily, howToShareEntireScreen, judgeScreenShare } from './screenCheck.ts';

export class CaptureError extends Error {
  constructor(
    /** denied: the candidate or the browser refused; wrongSurface: a tab or window was shared. */
    readonly reason: 'denied' | 'wrongSurface' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}

function explain(error: unknown, what: string): CaptureError {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return new CaptureError('denied', `Permission to use your ${what} was refused.`);
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return new CaptureError('unavailable', `No ${what} was found.`);
  return new CaptureError('unavailable', `Your ${what} could not be started (${error instanceof Error ? error.message : String(error)}).`);
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
 * window is stopped at once and reported as wrongSurface, with what to pick in this browser.
 */
export async function captureScreen(): Promise<ScreenCapture> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
  } catch (error) {
    throw explain(error, 'screen');
  }
  const video = stream.getVideoTracks()[0];
  const browser = browserFamily(navigator.userAgent);
  if (!video) {
    for (const track of stream.getTracks()) track.stop();
    throw new CaptureError('wrongSurface', `Your browser shared no picture of your screen. ${howToShareEntireScreen(browser)}`);
  }
  const settings = video.getSettings() as MediaTrackSettings & { displaySurface?: string };
  const judgement = judgeScreenShare({
    displaySurface: settings.displaySurface,
    width: settings.width,
    height: settings.height,
    label: video.label,
    screenWidth: screen.width,
    screenHeight: screen.height,
    devicePixelRatio: window.devicePixelRatio || 1,
  });
  if (!judgement.accepted) {
    for (const track of stream.getTracks()) track.stop();
    throw new CaptureError('wrongSurface', `You shared ${judgement.shared}, not your entire screen. ${howToShareEntireScreen(browser)}`);
  }
  // Text and code stay sharp: the encoder favours detail over frame rate.
  video.contentHint = 'detail';
  return { video, audio: stream.getAudioTracks()[0] ?? null, source: { verdict: judgement.verdict, evidence: `${browser}: ${judgement.evidence}` } };
}

export async function captureCameraAndMicrophone(): Promise<{ camera: MediaStreamTrack; microphone: MediaStreamTrack }> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
      audio: { echoCancellation: true, noiseSuppression: true },
    });
  } catch (error) {
    throw explain(error, 'camera and microphone');
  }
  const camera = stream.getVideoTracks()[0];
  const microphone = stream.getAudioTracks()[0];
  if (!camera || !microphone) {
    for (const track of stream.getTracks()) track.stop();
    throw new CaptureError('unavailable', 'Both a camera and a microphone are needed.');
  }
  // 'detail' would make Chromium encode the face as screen content at a fraction of the bitrate;
  // the flexible-mode VP9 that 'motion' produces is handled by the recorder's relay.
  camera.contentHint = 'motion';
  return { camera, microphone };
}
