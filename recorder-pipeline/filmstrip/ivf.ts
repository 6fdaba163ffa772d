/**
 * IVF, the simplest container of VP8/VP9 frames (a 32-byte file header, then per frame a 12-byte
 * header of size and pts): what the filmstrip uses to hand chosen key frames from one ffmpeg to
 * another. See https://wiki.multimedia.cx/index.php/IVF.
 */
export const IVF_FILE_HEADER_BYTES = 32;
export const IVF_FRAME_HEADER_BYTES = 12;

export type IvfCodec = 'vp8' | 'vp9';

/** A file header for `frames` frames of `width` × `height`, time base 1/1 (pts = frame index). */
export function ivfFileHeader(codec: IvfCodec, width: number, height: number, frames: number): Buffer {
  const header = Buffer.alloc(IVF_FILE_HEADER_BYTES);
  header.write('DKIF', 0, 'ascii');
  header.writeUInt16LE(0, 4);
  header.writeUInt16LE(IVF_FILE_HEADER_BYTES, 6);
  header.write(codec === 'vp9' ? 'VP90' : 'VP80', 8, 'ascii');
  header.writeUInt16LE(width, 12);
  header.writeUInt16LE(height, 14);
  header.writeUInt32LE(1, 16); // time base denominator
  header.writeUInt32LE(1, 20); // time base numerator
  header.writeUInt32LE(frames, 24);
  return header;
}

export function ivfFrameHeader(size: number, pts: number): Buffer {
  const header = Buffer.alloc(IVF_FRAME_HEADER_BYTES);
  header.writeUInt32LE(size, 0);
  header.writeBigInt64LE(BigInt(pts), 4);
  return header;
}

/**
 * Whether a VP8 or VP9 frame (as stored: a VP9 superframe starts with its first frame) is a key
 * frame, from its first bytes. VP9's uncompressed header: frame_marker (2 bits, 0b10), profile
 * (2 bits, and a reserved bit in profile 3), show_existing_frame, frame_type (0: key), show_frame,
 * error_resilient_mode, then a key frame's sync code 0x49 0x83 0x42. VP8: the frame tag's bit 0 is
 * 0 for a key frame, and the start code 0x9d 0x01 0x2a follows the 3-byte tag.
 */
export function isKeyFrame(codec: IvfCodec, frame: Uint8Array): boolean {
  if (codec === 'vp8') return frame.length >= 6 && (frame[0]! & 1) === 0 && frame[3] === 0x9d && frame[4] === 0x01 && frame[5] === 0x2a;
  if (frame.length < 5) return false;
  const bits = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) >>> 0;
  const bit = (index: number) => (index < 32 ? (bits >>> (31 - index)) & 1 : (frame[4]! >>> (39 - index)) & 1);
  if (bit(0) !== 1 || bit(1) !== 0) return false;
  const profile = bit(2) | (bit(3) << 1);
  const at = profile === 3 ? 5 : 4;
  if (bit(at) === 1 || bit(at + 1) !== 0) return false; // a shown earlier frame, or not a key frame
  const syncStart = at + 4;
  let sync = 0;
  for (let index = syncStart; index < syncStart + 24; index++) sync = (sync << 1) | bit(index);
  return sync === 0x498342;
}
