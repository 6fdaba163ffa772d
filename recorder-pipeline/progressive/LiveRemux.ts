import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { FfmpegProcess } from '../ffmpeg/FfmpegProcess.ts';

export interface LiveRemuxOptions {
  /** The recording ffmpeg's segment file, still growing. */
  source: string;
  /** A regular (seekable) file: the remuxed, final WebM. */
  output: string;
  logger?: Logger;
  /** How often the tail looks for new bytes in the source. */
  pollIntervalMs?: number;
}

/**
 * Reads a file that another process is appending to, from byte 0, as a stream: at the current end
 * it waits for more instead of ending, until `sourceComplete()` says no more bytes will come.
 */
export class FileTail extends Readable {
  readonly #file: string;
  readonly #pollIntervalMs: number;
  #handle: fs.FileHandle | undefined;
  #offset = 0;
  #complete = false;
  #reading = false;
  #wanted = false;
  #wake: (() => void) | undefined;

  constructor(file: string, pollIntervalMs: number) {
    super({ highWaterMark: 256 * 1024 });
    this.#file = file;
    this.#pollIntervalMs = pollIntervalMs;
  }

  /** The writer is done (its process exited): read up to the end of the file, then end. */
  sourceComplete(): void {
    this.#complete = true;
    this.#wake?.();
  }

  override _read(): void {
    this.#wanted = true;
    if (!this.#reading) void this.#pump();
  }

  /** Reads while the consumer wants data; at the current end, waits for the file to grow. */
  async #pump(): Promise<void> {
    this.#reading = true;
    try {
      this.#handle ??= await fs.open(this.#file, 'r');
      while (this.#wanted && !this.destroyed) {
        const complete = this.#complete;
        const buffer = Buffer.allocUnsafe(256 * 1024);
        const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, this.#offset);
        if (bytesRead > 0) {
          this.#offset += bytesRead;
          this.#wanted = this.push(buffer.subarray(0, bytesRead));
          continue;
        }
        if (complete) {
          this.#wanted = false;
          await this.#closeHandle();
          this.push(null);
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#pollIntervalMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.#reading = false;
    }
  }

  async #closeHandle(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#wake?.();
    void this.#closeHandle().then(() => callback(error));
  }
}

class LiveRemuxError extends Error {
  constructor(message: string, readonly stderrTail: string[]) {
    super(stderrTail.length > 0 ? `${message}: ${stderrTail.slice(-3).join(' | ')}` : message);
    this.name = 'LiveRemuxError';
  }
}

/**
 * Remuxes a recording segment while it is being written: the growing file goes through the
 * Matroska demuxer into a second `ffmpeg -c copy -f webm` whose output is a regular file. That
 * output is what finalize would have made (key frame flags restored, Cues and duration written at
 * its end), and while it grows only its first few KB (EBML/Segment size, SeekHead, Info duration,
 * track durations) are ever rewritten: everything after them can be uploaded as soon as it is
 * written (see docs/PERFORMANCE.md for the byte comparisons that show it).
 */
export class LiveRemux {
  readonly source: string;
  readonly output: string;
  readonly #tail: FileTail;
  readonly #ffmpeg: FfmpegProcess;
  #finishing: Promise<void> | undefined;

  private constructor(options: LiveRemuxOptions, tail: FileTail, ffmpeg: FfmpegProcess) {
    this.source = options.source;
    this.output = options.output;
    this.#tail = tail;
    this.#ffmpeg = ffmpeg;
  }

  /** Starts once the source file exists (it is created by ffmpeg when its segment starts). */
  static async start(options: LiveRemuxOptions): Promise<LiveRemux> {
    await fs.access(options.source);
    await fs.mkdir(path.dirname(options.output), { recursive: true });
    const tail = new FileTail(options.source, options.pollIntervalMs ?? 250);
    tail.on('error', (error) => {
      // FfmpegProcess ends ffmpeg's input; finish() reports how it exited.
      options.logger?.warn({ err: error, source: options.source }, 'live remux: reading the segment failed');
    });
    try {
      const ffmpeg = await FfmpegProcess.start({
        inputs: [{ path: 'pipe:0', options: ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-f', 'matroska'] }],
        outputs: [{ path: options.output, options: ['-map', '0', '-c', 'copy', '-copyinkf', '-f', 'webm', '-y'] }],
        stdin: tail,
        stderrLines: 20,
        logger: options.logger,
      });
      return new LiveRemux(options, tail, ffmpeg);
    } catch (error) {
      tail.destroy();
      throw error;
    }
  }

  get pid(): number {
    return this.#ffmpeg.pid;
  }

  /**
   * The source is complete (its ffmpeg exited): feeds the rest, lets ffmpeg write Cues and
   * rewrite the header, and resolves once the output is final. Rejects if ffmpeg failed.
   */
  finish(): Promise<void> {
    this.#finishing ??= (async () => {
      this.#tail.sourceComplete();
      const { code, signal, stderrTail } = await this.#ffmpeg.exited;
      if (code !== 0) throw new LiveRemuxError(`live remux of ${this.source} exited with ${signal ?? code}`, stderrTail);
    })();
    return this.#finishing;
  }

  /** Stops without a usable output (shutdown, or the recording went multi-segment). */
  async abandon(): Promise<void> {
    this.#tail.destroy();
    await Promise.race([this.#ffmpeg.kill(), delay(5000)]);
  }
}
