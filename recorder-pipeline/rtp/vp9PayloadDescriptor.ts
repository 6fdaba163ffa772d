/**
 * VP9 RTP payload descriptor (RFC 9628 §4.2), rewritten for ffmpeg 5.1.
 *
 * Chromium sends camera VP9 in flexible mode (F=1, with P_DIFF reference indices); ffmpeg 5.1's
 * depacketizer mis-parses that and reports "Invalid frame marker" on every inter frame. We record
 * one spatial and one temporal layer, so the layer index and the reference indices carry nothing
 * the muxer needs: dropping them (F=0, L=0) leaves the simplest non-flexible descriptor, which
 * ffmpeg reads correctly.
 *
 *   byte 0: I P L F B E V Z
 *   I: picture ID, 1 or 2 bytes (M bit)        L: layer index, +TL0PICIDX when F=0
 *   F&P: 1–3 P_DIFF bytes (N bit continues)    V: scalability structure
 */
const I = 0x80;
const P = 0x40;
const L = 0x20;
const F = 0x10;
const B = 0x08;
const V = 0x02;

export interface Vp9Descriptor {
  /** Bytes of the descriptor at the start of the payload. */
  length: number;
  /** First packet of a frame: the VP9 frame header follows the descriptor. */
  startOfFrame: boolean;
  /** The descriptor says the frame is predicted from earlier ones (P bit). */
  interPicture: boolean;
  flexible: boolean;
  hasLayerIndex: boolean;
}

/** Parses the descriptor; undefined when it runs past the payload. */
export function parseVp9Descriptor(payload: Uint8Array): Vp9Descriptor | undefined {
  if (payload.length < 1) return undefined;
  const first = payload[0]!;
  const flexible = (first & F) !== 0;
  const hasLayerIndex = (first & L) !== 0;
  let offset = 1;
  if (first & I) {
    if (offset >= payload.length) return undefined;
    offset += payload[offset]! & 0x80 ? 2 : 1;
  }
  if (hasLayerIndex) offset += flexible ? 1 : 2;
  if (flexible && first & P) {
    for (let count = 0; ; count++) {
      if (offset >= payload.length || count === 3) return undefined;
      const more = payload[offset]! & 0x01;
      offset++;
      if (!more) break;
    }
  }
  if (first & V) {
    if (offset >= payload.length) return undefined;
    const ss = payload[offset]!;
    offset++;
    const spatialLayers = (ss >> 5) + 1;
    if (ss & 0x10) offset += 4 * spatialLayers;
    if (ss & 0x08) {
      if (offset >= payload.length) return undefined;
      const pictures = payload[offset]!;
      offset++;
      for (let index = 0; index < pictures; index++) {
        if (offset >= payload.length) return undefined;
        const references = (payload[offset]! >> 2) & 0x03;
        offset += 1 + references;
      }
    }
  }
  if (offset > payload.length) return undefined;
  return { length: offset, startOfFrame: (first & B) !== 0, interPicture: (first & P) !== 0, flexible, hasLayerIndex };
}

/**
 * The payload with a non-flexible descriptor without layer index: F and L cleared, layer index,
 * TL0PICIDX and P_DIFF bytes dropped; picture ID and scalability structure kept. Returns the input
 * itself when there is nothing to drop, undefined when the descriptor is malformed.
 */
export function toNonFlexibleVp9Payload(payload: Uint8Array): Uint8Array | undefined {
  const descriptor = parseVp9Descriptor(payload);
  if (!descriptor) return undefined;
  if (!descriptor.flexible && !descriptor.hasLayerIndex) return payload;
  const first = payload[0]!;
  const pictureIdLength = first & I ? (payload[1]! & 0x80 ? 2 : 1) : 0;
  let dropFrom = 1 + pictureIdLength;
  let dropTo = dropFrom;
  if (descriptor.hasLayerIndex) dropTo += descriptor.flexible ? 1 : 2;
  if (descriptor.flexible && first & P) {
    while (payload[dropTo]! & 0x01) dropTo++;
    dropTo++;
  }
  const out = new Uint8Array(payload.length - (dropTo - dropFrom));
  out[0] = first & ~(F | L);
  out.set(payload.subarray(1, dropFrom), 1);
  out.set(payload.subarray(dropTo), dropFrom);
  return out;
}

/**
 * Whether this packet starts a VP9 key frame. The descriptor's P bit is not enough: ffmpeg's own
 * packetizer never sets it, so the frame header is read (frame_marker, profile, show_existing_frame,
 * frame_type; VP9 bitstream spec §6.2).
 */
export function isVp9KeyFrameStart(payload: Uint8Array): boolean {
  const descriptor = parseVp9Descriptor(payload);
  if (!descriptor || !descriptor.startOfFrame || descriptor.interPicture) return false;
  const header = payload[descriptor.length];
  if (header === undefined || header >> 6 !== 0b10) return false;
  const profile = ((header >> 5) & 1) | (((header >> 4) & 1) << 1);
  const bit = profile === 3 ? 2 : 3; // profile 3 has a reserved bit first
  const showExistingFrame = (header >> bit) & 1;
  const frameType = (header >> (bit - 1)) & 1;
  return showExistingFrame === 0 && frameType === 0;
}
