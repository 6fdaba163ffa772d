import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ffmpeg from 'fluent-ffmpeg';
import { isKeyFrame, IVF_FILE_HEADER_BYTES, IVF_FRAME_HEADER_BYTES, ivfFileHeader, ivfFrameHeader, type IvfCodec } from './ivf.ts';

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
  /** User + system CPU seconds of the two ffmpeg processes (the bench's figure). */
  ffmpegCpuSeconds: number;
}

export interface FilmstripOptions {
  /** At most this many tiles: the interval grows with the recording's length. */
  maxTiles?: number;
  /** Never closer than this (a WebRTC recording has a key frame every ~2 s). */
  minIntervalSeconds?: number;
  tileWidth?: number;
  columns?: number;
  /** Stops both ffmpegs (shutdown). */
  signal?: AbortSignal;
}

export const FILMSTRIP_DEFAULTS = { maxTiles: 120, minIntervalSeconds: 2, tileWidth: 160, columns: 10 } as const;

/** The file holds no video to make thumbnails of. */
export class NoVideoError extends Error {
  constructor(file: string) {
    super(`${file} has no video stream`);
    this.name = 'NoVideoError';
  }
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
 * Only key frames are decoded. ffmpeg 5.1 decodes every VP9 frame even with `-skip_frame nokey` or
 * `-discard nokey` (measured: 1800 frames decoded of a 60 s file either way, 3.7 CPU s; 36 CPU s
 * at 10 min), so the key frames are picked here instead: a first ffmpeg copies the video packets
 * out as IVF (no decoding: 0.2 CPU s for a 10-minute, 190 MB file), the first key frame at or after
 * each tile's time is kept (a VP8/VP9 key frame depends on no other frame), and a second ffmpeg
 * decodes only those, scales them into the tile box and tiles them. A tile whose interval holds no
 * key frame repeats the last one before it.
 */
export async function makeFilmstrip(source: string, target: string, options: FilmstripOptions = {}): Promise<Filmstrip> {
  const probe = await probeVideo(source);
  const layout = filmstripLayout(probe.durationSeconds, probe.width, probe.height, options);
  const rows = Math.ceil(layout.count / layout.columns);
  const staged = `${target}.tmp`;
  const { tileWidth: w, tileHeight: h } = layout;
  const demux = spawnFfmpeg(['-i', source, '-map', '0:v:0', '-c', 'copy', '-f', 'ivf', 'pipe:1'], options.signal);
  const decode = spawnFfmpeg(
    [
      // One size change (the shared surface changed) goes through the same scale filter, not a new graph.
      '-reinit_filter', '0',
      '-f', 'ivf', '-i', 'pipe:0',
      '-vf', `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:-1:-1,setsar=1,tile=${layout.columns}x${rows}`,
      '-frames:v', '1', '-q:v', '5', '-f', 'image2', '-update', '1', '-y', staged,
    ],
    options.signal,
  );
  try {
    const picker = new KeyFramePicker(probe.codec, layout, w, h);
    const piped = pipeline(demux.child.stdout!, picker, decode.child.stdin!).catch((error: unknown) => error);
    const [demuxExit, decodeExit, pipeError] = await Promise.all([demux.exited, decode.exited, piped]);
    if (decodeExit.code !== 0) throw new Error(`filmstrip decode ffmpeg exited with ${decodeExit.code ?? decodeExit.signal}: ${decodeExit.stderr}`);
    if (demuxExit.code !== 0) throw new Error(`filmstrip demux ffmpeg exited with ${demuxExit.code ?? demuxExit.signal}: ${demuxExit.stderr}`);
    if (pipeError) throw pipeError;
    if (picker.keyFrames === 0) throw new Error(`${source} has no key frame`);
    await fs.rename(staged, target);
    const sizeBytes = (await fs.stat(target)).size;
    return { ...layout, path: target, sizeBytes, ffmpegCpuSeconds: demuxExit.cpuSeconds + decodeExit.cpuSeconds };
  } finally {
    demux.child.kill('SIGKILL');
    decode.child.kill('SIGKILL');
    await fs.rm(staged, { force: true });
  }
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

/**
 * Reads the demuxer's IVF stream and writes an IVF of one key frame per tile (pts = the tile's
 * index), so the decoder sees exactly `count` frames.
 */
class KeyFramePicker extends Transform {
  readonly #codec: IvfCodec;
  readonly #layout: FilmstripLayout;
  readonly #header: Buffer;
  #buffer: Buffer = Buffer.alloc(0);
  #headerRead = false;
  /** The source's time base (seconds per pts unit), from its IVF header. */
  #secondsPerTick = 0;
  #nextTile = 0;
  #lastKey: Buffer | undefined;
  keyFrames = 0;

  constructor(codec: IvfCodec, layout: FilmstripLayout, width: number, height: number) {
    super();
    this.#codec = codec;
    this.#layout = layout;
    this.#header = ivfFileHeader(codec, width, height, layout.count);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    try {
      if (!this.#headerRead) {
        if (this.#buffer.length < IVF_FILE_HEADER_BYTES) return done();
        const timebaseDenominator = this.#buffer.readUInt32LE(16);
        const timebaseNumerator = this.#buffer.readUInt32LE(20);
        this.#secondsPerTick = timebaseNumerator / timebaseDenominator;
        this.#buffer = this.#buffer.subarray(this.#buffer.readUInt16LE(6));
        this.#headerRead = true;
        this.push(this.#header);
      }
      while (this.#buffer.length >= IVF_FRAME_HEADER_BYTES) {
        const size = this.#buffer.readUInt32LE(0);
        if (this.#buffer.length < IVF_FRAME_HEADER_BYTES + size) break;
        const pts = Number(this.#buffer.readBigInt64LE(4));
        const frame = this.#buffer.subarray(IVF_FRAME_HEADER_BYTES, IVF_FRAME_HEADER_BYTES + size);
        this.#buffer = this.#buffer.subarray(IVF_FRAME_HEADER_BYTES + size);
        if (isKeyFrame(this.#codec, frame)) this.#keyFrame(Buffer.from(frame), pts * this.#secondsPerTick);
      }
      // Keep the partial frame on its own, not a view of the whole chunk.
      this.#buffer = Buffer.from(this.#buffer);
      done();
    } catch (error) {
      done(error as Error);
    }
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
