import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from 'pino';
import { boundUdpPorts } from './udpPorts.ts';

export interface RecorderProcessOptions {
  sdpPath: string;
  /** screen video (input stream 0) + audio (stream 2). */
  screenPath: string;
  /** camera video (input stream 1) + audio (stream 2). */
  candidatePath: string;
  /** The SDP's RTP ports; ffmpeg binds each and port + 1 before it can receive anything. */
  rtpPorts: readonly number[];
  logger: Logger;
  listenTimeoutMs?: number;
}

export interface RecorderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stop() asked for it. */
  requested: boolean;
  /** The last lines ffmpeg wrote to stderr, for the log. */
  stderrTail: string[];
}

export type RecorderProcessEvents = {
  exit: [exit: RecorderExit];
};

const STDERR_LINES = 40;

/**
 * One ffmpeg reading the recording SDP and writing the two WebM files of a segment, stream-copied.
 *
 * - `-copyinkf`: ffmpeg 5.1's RTP VP9 depacketizer never flags key frames; without it no video is
 *   written at all. The finalize pass restores the flags (and with them Cues).
 * - `-cluster_time_limit 1000 -flush_packets 1`: a SIGKILL loses at most the last second; without
 *   the flush whole 256 KiB buffers were lost.
 * - no `-live 1`: it never writes a duration, even on a clean exit.
 */
export class RecorderProcess extends EventEmitter<RecorderProcessEvents> {
  readonly #child: ChildProcess;
  readonly #exited: Promise<RecorderExit>;
  readonly #logger: Logger;
  #stopping: Promise<RecorderExit> | undefined;
  #exit: RecorderExit | undefined;
  #requested = false;

  private constructor(child: ChildProcess, stderrTail: string[], logger: Logger) {
    super();
    this.#child = child;
    this.#logger = logger;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = { code, signal, requested: this.#requested, stderrTail: [...stderrTail] };
        this.#exit = exit;
        resolve(exit);
        this.emit('exit', exit);
      });
    });
    child.stdin?.on('error', () => {
      // ffmpeg exited while we wrote 'q': the exit is what matters.
    });
  }

  /** Spawns ffmpeg and resolves once it has bound every RTP and RTCP port of the SDP. */
  static async start(options: RecorderProcessOptions): Promise<RecorderProcess> {
    const stderrTail: string[] = [];
    const command = ffmpeg()
      .input(options.sdpPath)
      .inputOptions([
        '-hide_banner',
        '-nostats',
        '-loglevel', 'warning',
        '-protocol_whitelist', 'file,udp,rtp',
        // A larger socket buffer absorbs key frame bursts while ffmpeg is busy writing.
        '-buffer_size', String(4 * 1024 * 1024),
      ])
      .output(options.screenPath)
      .outputOptions(outputOptions(0))
      .output(options.candidatePath)
      .outputOptions(outputOptions(1));
    command.on('stderr', (line: string) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_LINES) stderrTail.shift();
    });
    const child = await new Promise<ChildProcess>((resolve, reject) => {
      command.once('start', () => resolve((command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc));
      // Errors before 'start' (ffmpeg missing) reject; later ones are the exit, handled below.
      command.once('error', reject);
      command.run();
    });
    command.on('error', () => {
      // fluent-ffmpeg reports every non-zero exit as an error; the 'exit' handler below has it.
    });
    const recorder = new RecorderProcess(child, stderrTail, options.logger);
    try {
      await recorder.#waitUntilListening(options.rtpPorts, options.listenTimeoutMs ?? 5000);
    } catch (error) {
      child.kill('SIGKILL');
      await recorder.exited;
      throw new Error(`${(error as Error).message}; ffmpeg said: ${stderrTail.slice(-5).join(' | ')}`);
    }
    return recorder;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get exited(): Promise<RecorderExit> {
    return this.#exited;
  }

  get hasExited(): boolean {
    return this.#exit !== undefined;
  }

  async #waitUntilListening(rtpPorts: readonly number[], timeoutMs: number): Promise<void> {
    const wanted = rtpPorts.flatMap((port) => [port, port + 1]);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#exit || this.#child.exitCode !== null || this.#child.signalCode !== null) throw new Error('ffmpeg exited before it listened on its RTP ports');
      const bound = await boundUdpPorts();
      if (wanted.every((port) => bound.has(port))) return;
      if (Date.now() > deadline) throw new Error(`ffmpeg did not bind its RTP ports within ${timeoutMs} ms`);
      await delay(20);
    }
  }

  /**
   * Graceful stop: 'q' on stdin lets ffmpeg write its trailers (duration). ffmpeg reads its stdin,
   * and acts on the SIGINT that follows shortly, only when a packet returns from its read (the
   * recording nudges it with one while it stops). A second SIGINT, only after GRACEFUL_STOP_MS,
   * interrupts a blocking read (ffmpeg 5.1 needs more signals than "transcode initialised") but
   * also its output writes. SIGKILL is the last resort. Idempotent.
   */
  stop(timeoutMs = 5000): Promise<RecorderExit> {
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<RecorderExit> {
    this.#requested = true;
    if (this.#exit) return this.#exit;
    this.#child.stdin?.write('q');
    for (const [signal, waitMs] of [['SIGINT', 50], ['SIGINT', GRACEFUL_STOP_MS], ['SIGKILL', timeoutMs]] as const) {
      const exit = await Promise.race([this.#exited, delay(waitMs, undefined, { ref: false })]);
      if (exit) return exit;
      if (signal === 'SIGKILL') this.#logger.warn({ pid: this.pid }, 'ffmpeg did not stop in time; killing it');
      this.#child.kill(signal);
    }
    return this.#exited;
  }
}

/**
 * How long ffmpeg may take to act on `q` and the first SIGINT (at its next packet) before a second
 * SIGINT interrupts its reads — and its output writes, which loses the open cluster (up to 1 s).
 */
const GRACEFUL_STOP_MS = 2000;

function outputOptions(videoStream: 0 | 1): string[] {
  return [
    '-map', `0:${videoStream}`,
    '-map', '0:2',
    '-c', 'copy',
    '-copyinkf',
    '-f', 'webm',
    '-cluster_time_limit', '1000',
    '-flush_packets', '1',
    '-y',
  ];
}
