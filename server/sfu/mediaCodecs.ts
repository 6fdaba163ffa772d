import type { types } from 'mediasoup';

/**
 * Router codecs: VP9 is what we record; VP8 is accepted for browsers that cannot encode VP9 (then
 * recorded as VP8 WebM, still without re-encoding); Opus for the one audio track.
 */
export const routerMediaCodecs: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 0, 'x-google-start-bitrate': 1000 } },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
];
