// What a browser must have to take part, checked by capability (never by its name): an iPad's
// Chrome is WebKit and has no getDisplayMedia, whatever its user agent says.

/** A capability the interview needs, by the name the SDK reports in `unsupported_browser`. */
export type Capability = 'secure-context' | 'screen-capture' | 'webrtc' | 'video-codec' | 'camera' | 'microphone';

/** The capabilities this browser lacks, without asking for any permission (synchronous). */
export function missingCapabilities(): Capability[] {
  const missing: Capability[] = [];
  if (typeof window !== 'undefined' && window.isSecureContext === false) missing.push('secure-context');
  const devices = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
  if (typeof devices?.getDisplayMedia !== 'function') missing.push('screen-capture');
  if (typeof RTCPeerConnection === 'undefined' || typeof RTCRtpSender === 'undefined') {
    missing.push('webrtc');
  } else if (typeof RTCRtpSender.getCapabilities === 'function') {
    const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
    if (!codecs.some((codec) => /^video\/vp[89]$/i.test(codec.mimeType))) missing.push('video-codec');
  }
  return missing;
}

/**
 * Whether a camera and a microphone are connected at all (labels need a permission; kinds do
 * not). A browser that cannot tell says nothing is missing: the capture will.
 */
export async function missingDevices(): Promise<Capability[]> {
  const devices = await navigator.mediaDevices?.enumerateDevices?.().catch(() => undefined);
  if (!devices) return [];
  const missing: Capability[] = [];
  if (!devices.some((device) => device.kind === 'videoinput')) missing.push('camera');
  if (!devices.some((device) => device.kind === 'audioinput')) missing.push('microphone');
  return missing;
}
