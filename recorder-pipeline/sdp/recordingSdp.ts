import type { types } from 'mediasoup';
import { write, type MediaDescription } from 'sdp-transform';
import type { TrackName } from '../tracks.ts';

/** One m-line: what ffmpeg expects on `port` (RTCP on port + 1). */
export interface SdpTrack {
  track: TrackName;
  kind: 'audio' | 'video';
  /** Codec name as in a=rtpmap: VP9, VP8, opus. */
  codec: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  /** a=fmtp parameters, e.g. profile-id=0 or the Opus parameters. */
  parameters?: Record<string, string | number>;
  port: number;
}

/** The m-line of a consumer's stream, from its rtpParameters (the codec mediasoup will send). */
export function sdpTrackFromRtpParameters(track: TrackName, rtpParameters: types.RtpParameters, port: number): SdpTrack {
  const codec = rtpParameters.codecs.find((candidate) => !/\/(rtx|red|ulpfec)$/i.test(candidate.mimeType));
  if (!codec) throw new Error(`${track}: the consumer has no media codec`);
  const [kind, name] = codec.mimeType.split('/') as ['audio' | 'video', string];
  return {
    track,
    kind,
    codec: name,
    payloadType: codec.payloadType,
    clockRate: codec.clockRate,
    ...(codec.channels ? { channels: codec.channels } : {}),
    ...(codec.parameters && Object.keys(codec.parameters).length > 0 ? { parameters: codec.parameters as Record<string, string | number> } : {}),
    port,
  };
}

/**
 * The SDP ffmpeg reads: one m-line per track in the given order (screen, camera, audio), so the
 * input's stream indexes are fixed and one ffmpeg keeps all three on one time base.
 */
export function recordingSdp(tracks: readonly SdpTrack[], ip = '127.0.0.1'): string {
  const media: MediaDescription[] = tracks.map((track) => ({
    type: track.kind,
    port: track.port,
    protocol: 'RTP/AVP',
    payloads: String(track.payloadType),
    rtp: [{ payload: track.payloadType, codec: track.codec, rate: track.clockRate, ...(track.channels ? { encoding: track.channels } : {}) }],
    fmtp: track.parameters
      ? [{ payload: track.payloadType, config: Object.entries(track.parameters).map(([key, value]) => `${key}=${value}`).join(';') }]
      : [],
    rtcp: { port: track.port + 1 },
    direction: 'recvonly',
    // Lets ffmpeg name the stream; purely informative.
    mid: track.track,
  }));
  return write({
    version: 0,
    origin: { username: '-', sessionId: 0, sessionVersion: 0, netType: 'IN', ipVer: 4, address: ip },
    name: 'interview-ingest recording',
    connection: { version: 4, ip },
    timing: { start: 0, stop: 0 },
    media,
  });
}
