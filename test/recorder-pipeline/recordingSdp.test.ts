import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { recordingSdp, sdpTrackFromRtpParameters } from '../../recorder-pipeline/sdp/recordingSdp.ts';

describe('the recording SDP', () => {
  it('has one m-line per track, in screen, camera, audio order, with the consumers\' codecs and RTCP on port + 1', () => {
    const vp9 = { mimeType: 'video/VP9', payloadType: 103, clockRate: 90000, parameters: { 'profile-id': 0 }, rtcpFeedback: [] };
    const sdp = recordingSdp([
      sdpTrackFromRtpParameters('screen', { codecs: [vp9], encodings: [{ ssrc: 1 }] }, 50000),
      sdpTrackFromRtpParameters('camera', { codecs: [{ ...vp9, mimeType: 'video/VP8', payloadType: 96, parameters: {} }], encodings: [{ ssrc: 2 }] }, 50002),
      sdpTrackFromRtpParameters('audio', { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }], encodings: [{ ssrc: 3 }] }, 50004),
    ]);
    const parsed = parse(sdp);
    expect(parsed.connection?.ip).toBe('127.0.0.1');
    expect(parsed.media.map((media) => [media.type, media.port, media.rtcp?.port, String(media.payloads)])).toEqual([
      ['video', 50000, 50001, '103'],
      ['video', 50002, 50003, '96'],
      ['audio', 50004, 50005, '100'],
    ]);
    expect(parsed.media[0]!.rtp).toEqual([{ payload: 103, codec: 'VP9', rate: 90000 }]);
    expect(parsed.media[0]!.fmtp).toEqual([{ payload: 103, config: 'profile-id=0' }]);
    expect(parsed.media[1]!.rtp).toEqual([{ payload: 96, codec: 'VP8', rate: 90000 }]);
    expect(parsed.media[2]!.rtp).toEqual([{ payload: 100, codec: 'opus', rate: 48000, encoding: 2 }]);
    expect(sdp).toContain('a=rtpmap:100 opus/48000/2\r\n');
  });
});
