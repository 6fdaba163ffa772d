/**
 * VP8 RTP payload descriptor (RFC 7741 §4.2), read only to find key frames: browsers that cannot
 * encode VP9 are recorded as VP8, and a segment should start on a key frame either way.
 */
export function isVp8KeyFrameStart(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const first = payload[0]!;
  const startOfPartition = (first & 0x10) !== 0;
  const partitionId = first & 0x07;
  if (!startOfPartition || partitionId !== 0) return false;
  let offset = 1;
  if (first & 0x80) {
    const extension = payload[offset];
    if (extension === undefined) return false;
    offset++;
    if (extension & 0x80) offset += (payload[offset] ?? 0) & 0x80 ? 2 : 1;
    if (extension & 0x40) offset++;
    if (extension & 0x30) offset++;
  }
  const header = payload[offset];
  // The VP8 frame tag's lowest bit is the inverse key frame flag.
  return header !== undefined && (header & 0x01) === 0;
}
