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
  const length = vp9DescriptorLength(payload, 0, payload.length);
  if (length < 0) return undefined;
  const first = payload[0]!;
  return { length, startOfFrame: (first & B) !== 0, interPicture: (first & P) !== 0, flexible: (first & F) !== 0, hasLayerIndex: (first & L) !== 0 };
}

/**
 * The length of the descriptor at bytes[start..end) (the payload inside a datagram), −1 when it
 * runs past `end`. Offsets instead of a subarray and a number instead of an object: the relay
 * checks every video packet.
 */
function vp9DescriptorLength(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 1) return -1;
  const first = bytes[start]!;
  const flexible = (first & F) !== 0;
  let offset = start + 1;
  if (first & I) {
    if (offset >= end) return -1;
    offset += bytes[offset]! & 0x80 ? 2 : 1;
  }
  if (first & L) offset += flexible ? 1 : 2;
  if (flexible && first & P) {
    for (let count = 0; ; count++) {
      if (offset >= end || count === 3) return -1;
      const more = bytes[offset]! & 0x01;
      offset++;
      if (!more) break;
    }
  }
  if (first & V) {
    if (offset >= end) return -1;
    const ss = bytes[offset]!;
    offset++;
    const spatialLayers = (ss >> 5) + 1;
    if (ss & 0x10) offset += 4 * spatialLayers;
    if (ss & 0x08) {
      if (offset >= end) return -1;
      const pictures = bytes[offset]!;
      offset++;
      for (let index = 0; index < pictures; index++) {
        if (offset >= end) return -1;
        const references = (bytes[offset]! >> 2) & 0x03;
        offset += 1 + references;
      }
    }
  }
  if (offset > end) return -1;
  return offset - start;
}

/**
 * The payload with a non-flexible descriptor without layer index: F and L cleared, layer index,
 * TL0PICIDX and P_DIFF bytes dropped; picture ID and scalability structure kept. Returns the input
 * itself when there is nothing to drop, undefined when the descriptor is malformed.
 */
export function toNonFlexibleVp9Payload(payload: Uint8Array): Uint8Array | undefined {
  const copy = Uint8Array.from(payload);
  const shift = toNonFlexibleVp9InPlace(copy, 0, copy.length);
  if (shift < 0) return undefined;
  return shift === 0 && copy[0] === payload[0] ? payload : copy.subarray(shift);
}

/**
 * toNonFlexibleVp9Payload on a whole datagram, without copying its payload: the payload is
 * packet[payloadStart..payloadEnd); the dropped descriptor bytes are closed up by moving what
 * precedes them (the RTP header and the descriptor's first bytes, at most a few dozen) forward.
 * Returns how many bytes the datagram now starts later (0: nothing dropped, packet unchanged),
 * so the rewritten datagram is packet[shift..payloadEnd); −1 when the descriptor is malformed
 * (packet unchanged).
 */
export function toNonFlexibleVp9InPlace(packet: Uint8Array, payloadStart: number, payloadEnd: number): number {
  if (vp9DescriptorLength(packet, payloadStart, payloadEnd) < 0) return -1;
  const first = packet[payloadStart]!;
  const flexible = (first & F) !== 0;
  const hasLayerIndex = (first & L) !== 0;
  if (!flexible && !hasLayerIndex) return 0;
  const pictureIdLength = first & I ? (packet[payloadStart + 1]! & 0x80 ? 2 : 1) : 0;
  const dropFrom = payloadStart + 1 + pictureIdLength;
  let dropTo = dropFrom;
  if (hasLayerIndex) dropTo += flexible ? 1 : 2;
  if (flexible && first & P) {
    while (packet[dropTo]! & 0x01) dropTo++;
    dropTo++;
  }
  packet[payloadStart] = first & ~(F | L);
  const shift = dropTo - dropFrom;
  packet.copyWithin(shift, 0, dropFrom);
  return shift;
}

/**
 * Whether this packet starts a VP9 key frame. The descriptor's P bit is not enough: ffmpeg's own
 * packetizer never sets it, so the frame header is read (frame_marker, profile, show_existing_frame,
 * frame_type; VP9 bitstream spec §6.2).
 */
export function isVp9KeyFrameStart(payload: Uint8Array): boolean {
  return isVp9KeyFrameStartAt(payload, 0, payload.length);
}

/** isVp9KeyFrameStart on bytes[start..end) (a datagram's payload), without a subarray per packet. */
export function isVp9KeyFrameStartAt(bytes: Uint8Array, start: number, end: number): boolean {
  const length = vp9DescriptorLength(bytes, start, end);
  if (length < 0) return false;
  const first = bytes[start]!;
  if (!(first & B) || first & P) return false;
  const header = start + length < end ? bytes[start + length] : undefined;
  if (header === undefined || header >> 6 !== 0b10) return false;
  const profile = ((header >> 5) & 1) | (((header >> 4) & 1) << 1);
  const bit = profile === 3 ? 2 : 3; // profile 3 has a reserved bit first
  const showExistingFrame = (header >> bit) & 1;
  const frameType = (header >> (bit - 1)) & 1;
  return showExistingFrame === 0 && frameType === 0;
}

/** VP9's frame_sync_code (bitstream spec §6.2.1), after the key frame's first header bits. */
const VP9_SYNC_CODE = 0x498342;
const CS_RGB = 7;

/**
 * The frame size a VP9 key frame starts with (uncompressed header, bitstream spec §6.2: frame
 * marker, profile, show_existing_frame, frame_type, show_frame, error_resilient_mode, sync code,
 * color_config, then frame_width_minus_1 and frame_height_minus_1 — 16 bits each), read from the
 * first packet of the frame in bytes[start..end). Undefined for anything but a key frame's start.
 */
export function vp9KeyFrameSizeAt(bytes: Uint8Array, start: number, end: number): { width: number; height: number } | undefined {
  const length = vp9DescriptorLength(bytes, start, end);
  if (length < 0 || !(bytes[start]! & B)) return undefined;
  let bit = (start + length) * 8;
  const endBit = end * 8;
  const read = (count: number): number => {
    let value = 0;
    for (let index = 0; index < count; index++, bit++) {
      if (bit >= endBit) throw new RangeError('past the payload');
      value = value * 2 + ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
    }
    return value;
  };
  try {
    if (read(2) !== 0b10) return undefined;
    const profileLow = read(1);
    const profile = (read(1) << 1) | profileLow;
    if (profile === 3) read(1);
    if (read(1) === 1) return undefined; // show_existing_frame
    if (read(1) !== 0) return undefined; // not a key frame
    read(2); // show_frame, error_resilient_mode
    if (read(24) !== VP9_SYNC_CODE) return undefined;
    if (profile >= 2) read(1); // ten_or_twelve_bit
    const colorSpace = read(3);
    if (colorSpace !== CS_RGB) read(1); // color_range
    if (profile === 1 || profile === 3) read(3); // subsampling_x, subsampling_y, reserved_zero
    return { width: read(16) + 1, height: read(16) + 1 };
  } catch {
    return undefined;
  }
}
