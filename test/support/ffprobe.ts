import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface ProbedStream {
  index: number;
  codecType: 'video' | 'audio' | string;
  codecName: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  startTime: number | undefined;
}

export interface ProbedFile {
  durationSeconds: number | undefined;
  formatName: string;
  streams: ProbedStream[];
  video: ProbedStream | undefined;
  audio: ProbedStream | undefined;
}

/** Container and streams as ffprobe reports them. */
export async function probeFile(file: string): Promise<ProbedFile> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  const json = JSON.parse(stdout) as {
    format: { duration?: string; format_name: string };
    streams: Array<{ index: number; codec_type: string; codec_name: string; width?: number; height?: number; sample_rate?: string; channels?: number; start_time?: string }>;
  };
  const streams = json.streams.map((stream) => ({
    index: stream.index,
    codecType: stream.codec_type,
    codecName: stream.codec_name,
    ...(stream.width ? { width: stream.width, height: stream.height } : {}),
    ...(stream.sample_rate ? { sampleRate: Number(stream.sample_rate), channels: stream.channels } : {}),
    startTime: numberOrUndefined(stream.start_time),
  }));
  return {
    durationSeconds: numberOrUndefined(json.format.duration),
    formatName: json.format.format_name,
    streams,
    video: streams.find((stream) => stream.codecType === 'video'),
    audio: streams.find((stream) => stream.codecType === 'audio'),
  };
}

export interface ProbedPacket {
  ptsTime: number;
  keyFrame: boolean;
}

/** Every packet of one stream ('v:0', 'a:0') with its presentation time and key flag. */
export async function probePackets(file: string, stream: string): Promise<ProbedPacket[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pts, flags] = line.split(',');
      return { ptsTime: Number(pts), keyFrame: (flags ?? '').includes('K') };
    })
    .filter((packet) => Number.isFinite(packet.ptsTime));
}

/** The largest step between consecutive packet times of a stream: a timestamp jump shows here. */
export function largestPtsStep(packets: ProbedPacket[]): number {
  let largest = 0;
  for (let index = 1; index < packets.length; index++) largest = Math.max(largest, packets[index]!.ptsTime - packets[index - 1]!.ptsTime);
  return largest;
}

const EBML_HEADER = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const SEEK_HEAD = 0x114d9b74;
const SEEK = 0x4dbb;
const SEEK_ID = 0x53ab;
const SEEK_POSITION = 0x53ac;
const CUES = 0x1c53bb6b;

/**
 * Whether a Matroska/WebM file has Cues (an index, so players can seek): its SeekHead must point
 * at a Cues element, and that element must really be there. Scanning for the Cues ID alone could
 * match by chance inside compressed media.
 */
export async function hasCues(file: string): Promise<boolean> {
  const bytes = await fs.readFile(file);
  let offset = 0;
  const header = readElement(bytes, offset);
  if (!header || header.id !== EBML_HEADER) return false;
  offset = header.dataStart + header.size;
  const segment = readElement(bytes, offset);
  if (!segment || segment.id !== SEGMENT) return false;
  const segmentData = segment.dataStart;
  const seekHead = readElement(bytes, segmentData);
  if (!seekHead || seekHead.id !== SEEK_HEAD) return false;
  for (let child = seekHead.dataStart; child < seekHead.dataStart + seekHead.size; ) {
    const seek = readElement(bytes, child);
    if (!seek) return false;
    if (seek.id === SEEK) {
      let id: number | undefined;
      let position: number | undefined;
      for (let field = seek.dataStart; field < seek.dataStart + seek.size; ) {
        const element = readElement(bytes, field);
        if (!element) break;
        if (element.id === SEEK_ID) id = readUint(bytes, element.dataStart, element.size);
        if (element.id === SEEK_POSITION) position = readUint(bytes, element.dataStart, element.size);
        field = element.dataStart + element.size;
      }
      if (id === CUES && position !== undefined) return readElement(bytes, segmentData + position)?.id === CUES;
    }
    child = seek.dataStart + seek.size;
  }
  return false;
}

function readElement(bytes: Buffer, offset: number): { id: number; size: number; dataStart: number } | undefined {
  const id = readVint(bytes, offset, true);
  if (!id) return undefined;
  const size = readVint(bytes, offset + id.length, false);
  if (!size) return undefined;
  return { id: id.value, size: size.value, dataStart: offset + id.length + size.length };
}

/** An EBML variable-length integer; IDs keep their length marker bits, sizes do not. */
function readVint(bytes: Buffer, offset: number, keepMarker: boolean): { value: number; length: number } | undefined {
  const first = bytes[offset];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23;
  if (offset + length > bytes.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  for (let index = 1; index < length; index++) value = value * 256 + bytes[offset + index]!;
  return { value, length };
}

function readUint(bytes: Buffer, offset: number, length: number): number {
  let value = 0;
  for (let index = 0; index < length; index++) value = value * 256 + bytes[offset + index]!;
  return value;
}

function numberOrUndefined(value: string | undefined): number | undefined {
  const number = Number(value);
  return value !== undefined && Number.isFinite(number) ? number : undefined;
}

/** What the decoder complains about when decoding a stream fully (empty for a clean stream). */
export async function decodeErrors(file: string, stream = 'v:0'): Promise<string[]> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', `0:${stream}`, '-f', 'null', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return decodeErrorLines(stderr);
}

/**
 * The decoding errors in ffmpeg's stderr. The null muxer's timestamp remarks (two frames sharing a
 * timestamp) are not decoding errors, nor is the "Last message repeated N times" after one of them.
 */
export function decodeErrorLines(stderr: string): string[] {
  const errors: string[] = [];
  let previousWasRemark = false;
  for (const line of stderr.split('\n')) {
    if (!line) continue;
    if (/^\s*Last message repeated \d+ times?$/.test(line)) {
      if (!previousWasRemark) errors.push(line);
      continue;
    }
    previousWasRemark = line.startsWith('[null @');
    if (!previousWasRemark) errors.push(line);
  }
  return errors;
}
