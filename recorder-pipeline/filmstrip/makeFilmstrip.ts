import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ffmpeg from 'fluent-ffmpeg';
import { isKeyFrame, IVF_FILE_HEADER_BYTES, IVF_FRAME_HEADER_BYTES, ivfFileHeader, ivfFrameHeader, type IvfCodec } from './ivf.ts';
import { readKeyFrame, readWebmIndex, type WebmIndex, type WebmKeyFrame } from './webmKeyFrames.ts';

/** How the tiles of a filmstrip sheet are laid out: tile i shows the screen at i × intervalSeconds. */
export interface FilmstripLayout {
  intervalSeconds: number;
  count: number;
  columns: number;
  tileWidth: number;
  tileHeight: number;
}

export interface Filmstrip extends FilmstripLayout {
  path: string;
  sizeBytes: number;
  /** User + system CPU seconds of the filmstrip's ffmpeg processes (the bench's figure). */
  ffmpegCpuSeconds: number;
  /** The key frames were found through the file's Cues (else the whole file was demuxed). */
  usedIndex: boolean;
}

export interface FilmstripOptions {
  /** At most this many tiles: the interval grows with the recording's length. */
  maxTiles?: number;
  /**
   * Never closer than this. A WebRTC recording has a key frame every ~2 s, and each tile costs one
   * decoded key frame (3.4–6 ms of CPU at 720p here) after an ffmpeg start (≈ 0.09 s): 30 s keeps a
   * 10-minute filmstrip at 21 tiles, under 2 % of what the interview's pipeline spent (docs/PERFORMANCE.md).
   */
  minIntervalSeconds?: number;
  tileWidth?: number;
  columns?: number;
  /** Stops both ffmpegs (shutdown). */
  signal?: AbortSignal;
}

export const FILMSTRIP_DEFAULTS = { maxTiles: 120, minIntervalSeconds: 30, tileWidth: 160, columns: 10 } as const;

/** The file holds no video to make thumbnails of. */
class NoVideoError extends Error {
  constructor(file: string) {
    super(`${file} has no video stream`);
    this.name = 'NoVideoError';
  }
}

/** What a filmstrip is made from: the file's Cues (if it has them) and its video's codec, size and length. */
export interface FilmstripSource {
  path: string;
  index: WebmIndex | undefined;
  video: ProbedVideo;
}

/** Reads `path`'s headers and Cues; ffprobe only for a file without them. */
export async function readFilmstripSource(path: string): Promise<FilmstripSource> {
  // A final file's headers and Cues say all that is needed.
  const index = await readWebmIndex(path).catch(() => undefined);
  return { path, index, video: (index && fromIndex(index)) ?? (await probeVideo(path)) };
}

/** The layout for a recording of `durationSeconds` whose first frame is width × height. */
export function filmstripLayout(durationSeconds: number, width: number, height: number, options: FilmstripOptions = {}): FilmstripLayout {
  const { maxTiles, minIntervalSeconds, tileWidth, columns } = { ...FILMSTRIP_DEFAULTS, ...options };
  const intervalSeconds = Math.max(minIntervalSeconds, Math.ceil(durationSeconds / maxTiles));
  const count = Math.max(1, Math.ceil(durationSeconds / intervalSeconds));
  // Even sizes (the JPEG encoder's chroma subsampling); the aspect of the recording's first frame.
  const tileHeight = Math.max(2, Math.round((tileWidth * height) / width / 2) * 2);
  return { intervalSeconds, count, columns: Math.min(columns, count), tileWidth, tileHeight };
}

/**
 * One JPEG sprite sheet of the screen recording: a tile every `intervalSeconds`, `columns` tiles a
 * row, written to `target` (via a temporary name, so a crash leaves no half-written sheet).
 *
 * Only key frames are decoded, and only one per tile. ffmpeg 5.1 decodes every VP9 frame even with
 * `-skip_frame nokey` or `-discard nokey` (measured: all 1800 frames of a 60 s file either way,
 * 3.7 CPU s; 36 CPU s at 10 min), so the key frames are found here: from the file's Cues (the seek
 * index every final file has), the first key frame at or after each tile's time is read straight
 * from its cluster (one small read each; a VP8/VP9 key frame depends on no other frame), and one
 * ffmpeg decodes just those from an IVF on its stdin, scales them into the tile box (letterboxed)
 * and tiles them. A file without Cues is demuxed whole instead (`-c copy` to IVF, no decoding).
 * A tile whose interval holds no key frame repeats the last one before it.
 */
export async function makeFilmstrip(from: string | FilmstripSource, target: string, options: FilmstripOptions = {}): Promise<Filmstrip> {
  const { path: source, index, video: probe } = typeof from === 'string' ? await readFilmstripSource(from) : from;
  const layout = filmstripLayout(probe.durationSeconds, probe.width, probe.height, options);
  const rows = Math.ceil(layout.count / layout.columns);
  const staged = `${target}.tmp`;
  const { tileWidth: w, tileHeight: h } = layout;
  const decode = spawnFfmpeg(
    [
      // One size change (the shared surface changed) goes through the same scale filter, not a new graph.
      '-reinit_filter', '0',
      '-threads', '1', '-f', 'ivf', '-i', 'pipe:0',
      '-vf', `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:-1:-1,setsar=1,tile=${layout.columns}x${rows}`,
      '-frames:v', '1', '-q:v', '5', '-f', 'image2', '-update', '1', '-y', staged,
    ],
    options.signal,
  );
  let demux: SpawnedFfmpeg | undefined;
  try {
    const picker = new KeyFramePicker(probe.codec, layout, probe.width, probe.height);
    let demuxCpuSeconds = 0;
    if (index) {
      // The Cues say where each key frame is: one small read per tile, nothing else of the file.
      const fed = pipeline(keyFramesFromIndex(source, index, layout), picker, decode.child.stdin!).catch((error: unknown) => error);
      const [decodeExit, pipeError] = await Promise.all([decode.exited, fed]);
      if (decodeExit.code !== 0) throw new Error(`filmstrip decode ffmpeg exited with ${decodeExit.code ?? decodeExit.signal}: ${decodeExit.stderr}`);
      if (pipeError) throw pipeError;
    } else {
      // No Cues: ffmpeg copies every video packet out as IVF and the key frames are picked on the way.
      demux = spawnFfmpeg(['-i', source, '-map', '0:v:0', '-c', 'copy', '-f', 'ivf', 'pipe:1'], options.signal);
      const piped = pipeline(demux.child.stdout!, new IvfFrames(), picker, decode.child.stdin!).catch((error: unknown) => error);
      const [demuxExit, decodeExit, pipeError] = await Promise.all([demux.exited, decode.exited, piped]);
      if (decodeExit.code !== 0) throw new Error(`filmstrip decode ffmpeg exited with ${decodeExit.code ?? decodeExit.signal}: ${decodeExit.stderr}`);
      if (demuxExit.code !== 0) throw new Error(`filmstrip demux ffmpeg exited with ${demuxExit.code ?? demuxExit.signal}: ${demuxExit.stderr}`);
      if (pipeError) throw pipeError;
      demuxCpuSeconds = demuxExit.cpuSeconds;
    }
    if (picker.keyFrames === 0) throw new Error(`${source} has no key frame`);
    const decodeCpuSeconds = (await decode.exited).cpuSeconds;
    await fs.rename(staged, target);
    const sizeBytes = (await fs.stat(target)).size;
    return { ...layout, path: target, sizeBytes, ffmpegCpuSeconds: demuxCpuSeconds + decodeCpuSeconds, usedIndex: index !== undefined };
  } finally {
    demux?.child.kill('SIGKILL');
    decode.child.kill('SIGKILL');
    await fs.rm(staged, { force: true });
  }
}

/** A key frame with its time, as the picker takes them. */
interface TimedFrame {
  seconds: number;
  frame: Buffer;
}

/** For each tile, the first indexed key frame in its interval (or the nearest before it), read from the file. */
function keyFramesFromIndex(source: string, index: WebmIndex, layout: FilmstripLayout): Readable {
  const chosen = new Set<WebmKeyFrame>();
  const frames = [...index.keyFrames].sort((a, b) => a.seconds - b.seconds);
  for (let tile = 0; tile < layout.count; tile++) {
    const start = tile * layout.intervalSeconds;
    const inside = frames.find((frame) => frame.seconds >= start - 1e-6 && frame.seconds < start + layout.intervalSeconds);
    const before = frames.filter((frame) => frame.seconds < start).at(-1);
    const pick = inside ?? before ?? frames[0];
    if (pick) chosen.add(pick);
  }
  return Readable.from(
    (async function* () {
      for (const keyFrame of [...chosen].sort((a, b) => a.seconds - b.seconds)) {
        const frame = await readKeyFrame(source, index.videoTrack, keyFrame);
        if (frame) yield { seconds: keyFrame.seconds, frame } satisfies TimedFrame;
      }
    })(),
    { objectMode: true },
  );
}

/** IVF bytes in, its frames (with their time) out. */
class IvfFrames extends Transform {
  #buffer: Buffer = Buffer.alloc(0);
  #headerRead = false;
  /** The source's time base (seconds per pts unit), from its IVF header. */
  #secondsPerTick = 0;

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (!this.#headerRead) {
      if (this.#buffer.length < IVF_FILE_HEADER_BYTES) return done();
      this.#secondsPerTick = this.#buffer.readUInt32LE(20) / this.#buffer.readUInt32LE(16);
      this.#buffer = this.#buffer.subarray(this.#buffer.readUInt16LE(6));
      this.#headerRead = true;
    }
    while (this.#buffer.length >= IVF_FRAME_HEADER_BYTES) {
      const size = this.#buffer.readUInt32LE(0);
      if (this.#buffer.length < IVF_FRAME_HEADER_BYTES + size) break;
      const pts = Number(this.#buffer.readBigInt64LE(4));
      this.push({ seconds: pts * this.#secondsPerTick, frame: this.#buffer.subarray(IVF_FRAME_HEADER_BYTES, IVF_FRAME_HEADER_BYTES + size) } satisfies TimedFrame);
      this.#buffer = this.#buffer.subarray(IVF_FRAME_HEADER_BYTES + size);
    }
    // Keep the partial frame on its own, not a view of the whole chunk.
    this.#buffer = Buffer.from(this.#buffer);
    done();
  }
}

/**
 * Takes frames in time order and writes an IVF of one key frame per tile (pts = the tile's index),
 * so the decoder sees exactly `count` frames: the first key frame at or after each tile's time and
 * before the next tile's, else the last one before it.
 */
class KeyFramePicker extends Transform {
  readonly #codec: IvfCodec;
  readonly #layout: FilmstripLayout;
  #nextTile = 0;
  #lastKey: Buffer | undefined;
  keyFrames = 0;

  constructor(codec: IvfCodec, layout: FilmstripLayout, width: number, height: number) {
    super({ writableObjectMode: true });
    this.#codec = codec;
    this.#layout = layout;
    this.push(ivfFileHeader(codec, width, height, layout.count));
  }

  override _transform({ seconds, frame }: TimedFrame, _encoding: BufferEncoding, done: TransformCallback): void {
    if (isKeyFrame(this.#codec, frame)) this.#keyFrame(Buffer.from(frame), seconds);
    done();
  }

  #keyFrame(frame: Buffer, seconds: number): void {
    this.keyFrames++;
    // Tiles before this key frame's time with none of their own repeat the last one before it.
    while (this.#nextTile < this.#layout.count && (this.#nextTile + 1) * this.#layout.intervalSeconds <= seconds) {
      this.#emitTile(this.#lastKey ?? frame);
    }
    if (this.#nextTile < this.#layout.count && this.#nextTile * this.#layout.intervalSeconds <= seconds + 1e-6) this.#emitTile(frame);
    this.#lastKey = frame;
  }

  #emitTile(frame: Buffer): void {
    this.push(ivfFrameHeader(frame.length, this.#nextTile));
    this.push(frame);
    this.#nextTile++;
  }

  override _flush(done: TransformCallback): void {
    // The tail after the last key frame repeats it.
    while (this.#lastKey && this.#nextTile < this.#layout.count) this.#emitTile(this.#lastKey);
    done();
  }
}

/** What probeVideo says, from the file's own headers; undefined when they miss something. */
function fromIndex(index: WebmIndex): ProbedVideo | undefined {
  const codec = index.codec === 'V_VP9' ? 'vp9' : index.codec === 'V_VP8' ? 'vp8' : undefined;
  const { width, height, durationSeconds } = index;
  if (!codec || !width || !height || !durationSeconds || !(durationSeconds > 0)) return undefined;
  return { codec, width, height, durationSeconds };
}

interface ProbedVideo {
  codec: IvfCodec;
  width: number;
  height: number;
  durationSeconds: number;
}

function probeVideo(file: string): Promise<ProbedVideo> {
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(file, (error, data) => {
      if (error) return reject(error instanceof Error ? error : new Error(String(error)));
      const video = data.streams.find((stream) => stream.codec_type === 'video');
      if (!video || !video.width || !video.height) return reject(new NoVideoError(file));
      if (video.codec_name !== 'vp9' && video.codec_name !== 'vp8') return reject(new Error(`${file}: no filmstrip for ${video.codec_name} video`));
      const durationSeconds = Number(data.format.duration);
      if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) return reject(new Error(`${file} has no duration`));
      resolve({ codec: video.codec_name, width: video.width, height: video.height, durationSeconds });
    });
  });
}

interface SpawnedFfmpeg {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; cpuSeconds: number; stderr: string }>;
}

/**
 * A short ffmpeg whose stdio is piped here (FfmpegProcess does not hand out stdout). `-benchmark`
 * makes it print its own user and system CPU time at exit, which a busy machine does not skew.
 */
function spawnFfmpeg(args: string[], signal: AbortSignal | undefined): SpawnedFfmpeg {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostats', '-nostdin', '-loglevel', 'info', '-benchmark', ...args], { stdio: ['pipe', 'pipe', 'pipe'], signal });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  child.stdin!.on('error', () => undefined);
  child.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; cpuSeconds: number; stderr: string }>((resolve) => {
    child.once('close', (code, exitSignal) => {
      const bench = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(stderr);
      const cpuSeconds = bench ? Number(bench[1]) + Number(bench[2]) : 0;
      resolve({ code, signal: exitSignal, cpuSeconds, stderr: stderr.replace(/bench: .*\n?/g, '').trim().split('\n').slice(-3).join(' | ') });
    });
  });
  return { child, exited };
}
