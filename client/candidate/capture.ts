// Getting the candidate's media: the entire screen (with system audio when the browser offers it),
// then camera and microphone. Each refusal is a typed error the page explains.

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
}

/**
 * Must run inside a click handler (browsers require a user gesture). Only a whole monitor is
 * accepted: a tab or window share is stopped at once and reported as wrongSurface.
 */
export async function captureScreen(): Promise<ScreenCapture> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
  } catch (error) {
    throw explain(error, 'screen');
  }
  const video = stream.getVideoTracks()[0];
  const surface = (video?.getSettings() as MediaTrackSettings & { displaySurface?: string }).displaySurface;
  if (!video || surface !== 'monitor') {
    for (const track of stream.getTracks()) track.stop();
    throw new CaptureError('wrongSurface', `You shared ${surface === 'browser' ? 'a browser tab' : surface === 'window' ? 'a window' : 'something other than your screen'}. Please share your entire screen.`);
  }
  // Text and code stay sharp: the encoder favours detail over frame rate.
  video.contentHint = 'detail';
  return { video, audio: stream.getAudioTracks()[0] ?? null };
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
