/**
 * The few RTP header fields the relay reads or rewrites (RFC 3550 §5.1), in place on the
 * datagram's bytes: parsing a whole packet into an object per datagram is not needed.
 */
const RTP_HEADER_MIN = 12;

export function isRtpVersion2(packet: Uint8Array): boolean {
  return packet.length >= RTP_HEADER_MIN && packet[0]! >> 6 === 2;
}

/** RTCP packet types 200–204 share the second byte's range with RTP payload types 72–76 + marker. */
export function looksLikeRtcp(packet: Uint8Array): boolean {
  const type = packet[1] ?? 0;
  return type >= 192 && type <= 223;
}

export function sequenceNumber(packet: Uint8Array): number {
  return (packet[2]! << 8) | packet[3]!;
}

export function timestamp(packet: Uint8Array): number {
  return readUint32(packet, 4);
}

export function ssrc(packet: Uint8Array): number {
  return readUint32(packet, 8);
}

export function setSequenceNumber(packet: Uint8Array, value: number): void {
  packet[2] = (value >> 8) & 0xff;
  packet[3] = value & 0xff;
}

export function setTimestamp(packet: Uint8Array, value: number): void {
  writeUint32(packet, 4, value);
}

export function setSsrc(packet: Uint8Array, value: number): void {
  writeUint32(packet, 8, value);
}

/**
 * Where the payload starts, skipping CSRCs and a header extension (the relay asks for every
 * packet, so no object is made): −1 when the packet is not RTP version 2 or its header extension does not fit. Check start ≤ payloadEnd as well.
 */
export function payloadStart(packet: Uint8Array): number {
  if (!isRtpVersion2(packet)) return -1;
  const csrcCount = packet[0]! & 0x0f;
  let start = RTP_HEADER_MIN + 4 * csrcCount;
  if (packet[0]! & 0x10) {
    if (packet.length < start + 4) return -1;
    const extensionWords = (packet[start + 2]! << 8) | packet[start + 3]!;
    start += 4 + 4 * extensionWords;
  }
  return start;
}

/** Where the payload ends: the datagram's end less its padding. */
export function payloadEnd(packet: Uint8Array): number {
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[packet.length - 1]!;
  return end;
}

export function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

export function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}
