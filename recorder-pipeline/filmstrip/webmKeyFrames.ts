import fs from 'node:fs/promises';

/**
 * The key frames of a WebM's video track, read from its Cues (the seek index the finalize and the
 * live remux write at the end of every final file) without demuxing the file: per key frame its
 * time and where its block is. Reading one then costs one small read. Undefined when the file has
 * no usable Cues (the caller then demuxes the whole file).
 */
export interface WebmKeyFrame {
  seconds: number;
  /** Byte offset of the cluster holding it, and of its block inside the cluster's data when known. */
  clusterOffset: number;
  relativeOffset: number | undefined;
}

export interface WebmIndex {
  videoTrack: number;
  /** The video track's codec and first frame size, and the file's duration, from its headers. */
  codec: string | undefined;
  width: number | undefined;
  height: number | undefined;
  durationSeconds: number | undefined;
  keyFrames: WebmKeyFrame[];
}

const ID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
  CueRelativePosition: 0xf0,
  Cluster: 0x1f43b675,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
} as const;

interface Element {
  id: number;
  /** Offset of the element's data, and its size (undefined: unknown size). */
  dataOffset: number;
  size: number | undefined;
}

/** Reads an EBML variable-length integer at `offset`: its value (marker removed or kept) and length. */
function readVint(buffer: Buffer, offset: number, keepMarker: boolean): { value: number; length: number; unknown: boolean } | undefined {
  const first = buffer[offset];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23;
  if (length > 8 || offset + length > buffer.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === (0xff >> length);
  for (let index = 1; index < length; index++) {
    const byte = buffer[offset + index]!;
    value = value * 256 + byte;
    allOnes &&= byte === 0xff;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

function readElement(buffer: Buffer, offset: number, base: number): Element | undefined {
  const id = readVint(buffer, offset, true);
  if (!id) return undefined;
  const size = readVint(buffer, offset + id.length, false);
  if (!size) return undefined;
  return { id: id.value, dataOffset: base + offset + id.length + size.length, size: size.unknown ? undefined : size.value };
}

function readUint(buffer: Buffer, offset: number, size: number): number {
  let value = 0;
  for (let index = 0; index < size; index++) value = value * 256 + buffer[offset + index]!;
  return value;
}

/** Children of the element whose data is `data` (a buffer holding all of it). */
function* children(data: Buffer): Generator<{ id: number; body: Buffer }> {
  for (let offset = 0; offset < data.length; ) {
    const element = readElement(data, offset, 0);
    if (!element || element.size === undefined || element.dataOffset + element.size > data.length) return;
    yield { id: element.id, body: data.subarray(element.dataOffset, element.dataOffset + element.size) };
    offset = element.dataOffset + element.size;
  }
}

async function readAt(file: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** The video track's key frames from the Cues; undefined when they cannot be read. */
export async function readWebmIndex(path: string): Promise<WebmIndex | undefined> {
  const file = await fs.open(path, 'r');
  try {
    const head = await readAt(file, 0, 64 * 1024);
    const ebml = readElement(head, 0, 0);
    if (!ebml || ebml.id !== ID.EBML || ebml.size === undefined) return undefined;
    const segment = readElement(head, ebml.dataOffset + ebml.size, 0);
    if (!segment || segment.id !== ID.Segment) return undefined;
    const segmentStart = segment.dataOffset;
    let cuesPosition: number | undefined;
    let timecodeScale = 1_000_000;
    let duration: number | undefined;
    let videoTrack: number | undefined;
    let video: Pick<WebmIndex, 'codec' | 'width' | 'height'> = { codec: undefined, width: undefined, height: undefined };
    // The top-level elements before the first cluster: SeekHead (where the Cues are), Info, Tracks.
    for (let offset = segmentStart; offset < head.length; ) {
      const element = readElement(head, offset, 0);
      if (!element || element.size === undefined || element.id === ID.Cluster) break;
      const end = element.dataOffset + element.size;
      if (end > head.length) break;
      const body = head.subarray(element.dataOffset, end);
      if (element.id === ID.SeekHead) {
        for (const seek of children(body)) {
          if (seek.id !== ID.Seek) continue;
          let seekId: number | undefined;
          let position: number | undefined;
          for (const field of children(seek.body)) {
            if (field.id === ID.SeekID) seekId = readUint(field.body, 0, field.body.length);
            if (field.id === ID.SeekPosition) position = readUint(field.body, 0, field.body.length);
          }
          if (seekId === ID.Cues && position !== undefined) cuesPosition = segmentStart + position;
        }
      } else if (element.id === ID.Info) {
        for (const field of children(body)) {
          if (field.id === ID.TimecodeScale) timecodeScale = readUint(field.body, 0, field.body.length);
          if (field.id === ID.Duration) duration = field.body.length === 8 ? field.body.readDoubleBE(0) : field.body.length === 4 ? field.body.readFloatBE(0) : undefined;
        }
      } else if (element.id === ID.Tracks) {
        for (const entry of children(body)) {
          if (entry.id !== ID.TrackEntry) continue;
          let number: number | undefined;
          let type: number | undefined;
          const entryVideo: Pick<WebmIndex, 'codec' | 'width' | 'height'> = { codec: undefined, width: undefined, height: undefined };
          for (const field of children(entry.body)) {
            if (field.id === ID.TrackNumber) number = readUint(field.body, 0, field.body.length);
            if (field.id === ID.TrackType) type = readUint(field.body, 0, field.body.length);
            if (field.id === ID.CodecID) entryVideo.codec = field.body.toString('ascii');
            if (field.id !== ID.Video) continue;
            for (const size of children(field.body)) {
              if (size.id === ID.PixelWidth) entryVideo.width = readUint(size.body, 0, size.body.length);
              if (size.id === ID.PixelHeight) entryVideo.height = readUint(size.body, 0, size.body.length);
            }
          }
          if (type === 1 && number !== undefined && videoTrack === undefined) {
            videoTrack = number;
            video = entryVideo;
          }
        }
      }
      offset = end;
    }
    if (cuesPosition === undefined || videoTrack === undefined) return undefined;
    const cuesHeader = await readAt(file, cuesPosition, 16);
    const cues = readElement(cuesHeader, 0, cuesPosition);
    if (!cues || cues.id !== ID.Cues || cues.size === undefined || cues.size > 64 * 1024 * 1024) return undefined;
    const cuesBody = await readAt(file, cues.dataOffset, cues.size);
    const keyFrames: WebmKeyFrame[] = [];
    for (const point of children(cuesBody)) {
      if (point.id !== ID.CuePoint) continue;
      let time: number | undefined;
      for (const field of children(point.body)) {
        if (field.id === ID.CueTime) time = readUint(field.body, 0, field.body.length);
        if (field.id !== ID.CueTrackPositions || time === undefined) continue;
        let track: number | undefined;
        let cluster: number | undefined;
        let relative: number | undefined;
        for (const position of children(field.body)) {
          if (position.id === ID.CueTrack) track = readUint(position.body, 0, position.body.length);
          if (position.id === ID.CueClusterPosition) cluster = readUint(position.body, 0, position.body.length);
          if (position.id === ID.CueRelativePosition) relative = readUint(position.body, 0, position.body.length);
        }
        if (track === videoTrack && cluster !== undefined) {
          keyFrames.push({ seconds: (time * timecodeScale) / 1e9, clusterOffset: segmentStart + cluster, relativeOffset: relative });
        }
      }
    }
    const durationSeconds = duration === undefined ? undefined : (duration * timecodeScale) / 1e9;
    return keyFrames.length > 0 ? { videoTrack, ...video, durationSeconds, keyFrames } : undefined;
  } finally {
    await file.close();
  }
}

/**
 * The frame of the key frame block the cue points to: at its relative position in the cluster, or
 * else the cluster's first key frame block of the track. Undefined when it is not there.
 */
export async function readKeyFrame(path: string, videoTrack: number, keyFrame: WebmKeyFrame): Promise<Buffer | undefined> {
  const file = await fs.open(path, 'r');
  try {
    const clusterHeader = await readAt(file, keyFrame.clusterOffset, 16);
    const cluster = readElement(clusterHeader, 0, keyFrame.clusterOffset);
    if (!cluster || cluster.id !== ID.Cluster) return undefined;
    const readBlockAt = async (offset: number): Promise<{ frame?: Buffer; next: number } | undefined> => {
      const header = await readAt(file, offset, 16);
      const element = readElement(header, 0, offset);
      if (!element || element.size === undefined) return undefined;
      const next = element.dataOffset + element.size;
      if (element.id !== ID.SimpleBlock && element.id !== ID.BlockGroup) return { next };
      const body = await readAt(file, element.dataOffset, element.size);
      let block = body;
      let referenced = false;
      if (element.id === ID.BlockGroup) {
        const inner = [...children(body)].find((child) => child.id === ID.Block);
        if (!inner) return { next };
        block = inner.body;
        // A BlockGroup with a ReferenceBlock depends on another frame.
        referenced = [...children(body)].some((child) => child.id === 0xfb);
      }
      const track = readVint(block, 0, false);
      if (!track || block.length < track.length + 3) return { next };
      const flags = block[track.length + 2]!;
      const isKey = element.id === ID.SimpleBlock ? (flags & 0x80) !== 0 : !referenced;
      // Laced blocks (several frames) never hold video here.
      if (track.value !== videoTrack || !isKey || (flags & 0x06) !== 0) return { next };
      return { frame: block.subarray(track.length + 3), next };
    };
    if (keyFrame.relativeOffset !== undefined) {
      const found = await readBlockAt(cluster.dataOffset + keyFrame.relativeOffset);
      if (found?.frame) return found.frame;
    }
    // No (or a wrong) relative position: the cluster's blocks in order.
    const end = cluster.size === undefined ? Number.MAX_SAFE_INTEGER : cluster.dataOffset + cluster.size;
    for (let offset = cluster.dataOffset, elements = 0; offset < end && elements < 1000; elements++) {
      const found = await readBlockAt(offset);
      if (!found) return undefined;
      if (found.frame) return found.frame;
      offset = found.next;
    }
    return undefined;
  } finally {
    await file.close();
  }
}
