import type { types } from 'mediasoup';
import type { TrackName } from './tracks.ts';

/**
 * The router's codec a recording consumer asks for: the one the producer sends, without RTX and
 * with only the feedback a recorder can give. ffmpeg sends no NACKs and no bandwidth feedback;
 * PLI/FIR are how key frames are asked for.
 */
export function recordingConsumerCodec(router: types.Router, track: TrackName, producer: types.Producer): types.RtpCodecCapability {
  const mimeType = producer.rtpParameters.codecs.find((codec) => !/\/(rtx|red|ulpfec)$/i.test(codec.mimeType))?.mimeType;
  const codec = router.rtpCapabilities.codecs?.find((candidate) => candidate.mimeType.toLowerCase() === mimeType?.toLowerCase());
  if (!mimeType || !codec) throw new Error(`${track}: the router cannot forward the producer's codec ${mimeType ?? '(none)'}`);
  return {
    ...codec,
    rtcpFeedback: (codec.rtcpFeedback ?? []).filter((feedback) => (feedback.type === 'nack' && feedback.parameter === 'pli') || feedback.type === 'ccm'),
  };
}
