import { readUint32, writeUint32 } from './rtpPacket.ts';

/**
 * Finds the Sender Reports in a compound RTCP packet (RFC 3550 §6.4.1) from mediasoup. ffmpeg
 * keeps the recording's streams in sync from each stream's SR (NTP time ↔ RTP timestamp); the
 * other parts (SDES, and above all BYE, which makes ffmpeg end the stream) must not reach it.
 */
export interface SenderReport {
  ssrc: number;
  ntpTime: bigint;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

const RTCP_SR = 200;
/** Header (4) + sender SSRC (4) + sender info (20). */
const SR_LENGTH = 28;

export function senderReports(compound: Uint8Array): SenderReport[] {
  const reports: SenderReport[] = [];
  let offset = 0;
  while (offset + 4 <= compound.length) {
    if (compound[offset]! >> 6 !== 2) break;
    const length = (((compound[offset + 2]! << 8) | compound[offset + 3]!) + 1) * 4;
    if (offset + length > compound.length) break;
    if (compound[offset + 1] === RTCP_SR && length >= SR_LENGTH) {
      reports.push({
        ssrc: readUint32(compound, offset + 4),
        ntpTime: (BigInt(readUint32(compound, offset + 8)) << 32n) | BigInt(readUint32(compound, offset + 12)),
        rtpTimestamp: readUint32(compound, offset + 16),
        packetCount: readUint32(compound, offset + 20),
        octetCount: readUint32(compound, offset + 24),
      });
    }
    offset += length;
  }
  return reports;
}

/** A lone SR without report blocks: what ffmpeg needs, nothing it could misread. */
export function encodeSenderReport(report: SenderReport): Uint8Array {
  const packet = new Uint8Array(SR_LENGTH);
  packet[0] = 0x80;
  packet[1] = RTCP_SR;
  packet[3] = SR_LENGTH / 4 - 1;
  writeUint32(packet, 4, report.ssrc);
  writeUint32(packet, 8, Number(report.ntpTime >> 32n));
  writeUint32(packet, 12, Number(report.ntpTime & 0xffffffffn));
  writeUint32(packet, 16, report.rtpTimestamp);
  writeUint32(packet, 20, report.packetCount);
  writeUint32(packet, 24, report.octetCount);
  return packet;
}
