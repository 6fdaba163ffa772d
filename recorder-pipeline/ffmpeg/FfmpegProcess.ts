import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from 'pino';

interface FfmpegInput {
  /** A file, an SDP, or `pipe:0` for the `stdin` stream. */
  path: string;
  options?: readonly string[];
}

interface FfmpegOutput {
  path: string;
  options: readonly string[];
}

export interface FfmpegProcessOptions {
  inputs: readonly FfmpegInput[];
  outputs: readonly FfmpegOutput[];
  /** Piped into ffmpeg's stdin (an input `pipe:0`); stop() then sends no 'q', which would be read as media. */
  stdin?: Readable;
  /** How many of ffmpeg's last stderr lines to keep. */
  stderrLines?: number;
  logger?: Logger;
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stop() or kill() asked for it. */
  requested: boolean;
  /** The last lines ffmpeg wrote to stderr, for logs and error messages. */
  stderrTail: string[];
}

const DEFAULT_STDERR_LINES = 40;

/**
 * How long ffmpeg may take to act on `q` and the first SIGINT (at its next packet) before a second
 * SIGINT interrupts its reads — and its output writes, which loses the open cluster (up to 1 s).
 */
const GRACEFUL_STOP_MS = 2000;

/**
 * One running ffmpeg: started by fluent-ffmpeg, its last stderr lines kept, its end as one
 * `exited` promise. Every ffmpeg of the pipeline (recorder, live remux, finalize) is one of these,
 * so stopping and reporting a failed ffmpeg works the same everywhere.
 */
export class FfmpegProcess {
  readonly #child: ChildProcess;
  readonly #pid: number;
  readonly #exited: Promise<FfmpegExit>;
  readonly #stderrTail: string[] = [];
  readonly #logger: Logger | undefined;
  readonly #stdinIsInput: boolean;
  #stopping: Promise<FfmpegExit> | undefined;
  #exit: FfmpegExit | undefined;
  #requested = false;

  private constructor(child: ChildProcess, pid: number, options: FfmpegProcessOptions) {
    this.#child = child;
    this.#pid = pid;
    this.#logger = options.logger;
    this.#stdinIsInput = options.stdin !== undefined;
    const maxLines = options.stderrLines ?? DEFAULT_STDERR_LINES;
    let partial = '';
    const keep = (line: string) => {
      if (line.length === 0) return;
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > maxLines) this.#stderrTail.splice(0, this.#stderrTail.length - maxLines);
    };
    // Our own line split rather than fluent-ffmpeg's 'stderr' event: that one flushes its last,
    // unterminated line only after the child's 'close', when the exit is already settled.
    child.stderr?.on('data', (text: string) => {
      const lines = (partial + text).split(/\r\n|\r|\n/);
      partial = lines.pop() ?? '';
      lines.forEach(keep);
    });
    this.#exited = new Promise((resolve) => {
      // 'close', not 'exit': by then stderr has been read to its end.
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        keep(partial);
        this.#exit = { code, signal, requested: this.#requested, stderrTail: [...this.#stderrTail] };
        resolve(this.#exit);
      });
    });
    child.stdin?.on('error', () => {
      // ffmpeg exited while we wrote to it: the exit is what matters.
    });
  }

  /** Spawns ffmpeg; rejects when it cannot be started (not found, not executable). */
  static async start(options: FfmpegProcessOptions): Promise<FfmpegProcess> {
    const command = ffmpeg();
    for (const input of options.inputs) {
      command.input(input.path);
      if (input.options) command.inputOptions([...input.options]);
    }
    for (const output of options.outputs) command.output(output.path).outputOptions([...output.options]);
    const child = await new Promise<ChildProcess>((resolve, reject) => {
      command.once('start', () => resolve((command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc));
      command.once('error', reject);
      command.run();
    });
    command.on('error', () => {
      // fluent-ffmpeg reports every non-zero exit as an error; `exited` has it.
    });
    if (child.pid === undefined) throw new Error('ffmpeg could not be spawned');
    const started = new FfmpegProcess(child, child.pid, options);
    if (options.stdin && child.stdin) {
      const stdin = child.stdin;
      // A failing input ends ffmpeg's input: it finishes with what it got, and its exit tells.
      options.stdin.once('error', () => stdin.destroy());
      options.stdin.pipe(stdin);
    }
    return started;
  }

  get pid(): number {
    return this.#pid;
  }

  get exited(): Promise<FfmpegExit> {
    return this.#exited;
  }

  /** True from the moment the process is gone (`exited` settles a moment later, once stderr is read). */
  get hasExited(): boolean {
    return this.#exit !== undefined || this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** The last stderr lines so far. */
  get stderrTail(): string[] {
    return [...this.#stderrTail];
  }

  /**
   * Graceful stop: 'q' on stdin lets ffmpeg write its trailers (duration). ffmpeg reads its stdin,
   * and acts on the SIGINT that follows shortly, only when a packet returns from its read (the
   * recording nudges it with one while it stops). A second SIGINT, only after GRACEFUL_STOP_MS,
   * interrupts a blocking read (ffmpeg 5.1 needs more signals than "transcode initialised") but
   * also its output writes. SIGKILL, `timeoutMs` later, is the last resort. Idempotent.
   */
  stop(timeoutMs = 5000): Promise<FfmpegExit> {
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<FfmpegExit> {
    this.#requested = true;
    if (this.#exit) return this.#exit;
    if (!this.#stdinIsInput) this.#child.stdin?.write('q');
    for (const [signal, waitMs] of [['SIGINT', 50], ['SIGINT', GRACEFUL_STOP_MS], ['SIGKILL', timeoutMs]] as const) {
      const exit = await Promise.race([this.#exited, delay(waitMs, undefined, { ref: false })]);
      if (exit) return exit;
      if (signal === 'SIGKILL') this.#logger?.warn({ pid: this.#pid }, 'ffmpeg did not stop in time; killing it');
      this.#child.kill(signal);
    }
    return this.#exited;
  }

  /** SIGKILL now, for output nobody will use; resolves with the exit. */
  kill(): Promise<FfmpegExit> {
    this.#requested = true;
    if (!this.hasExited) this.#child.kill('SIGKILL');
    return this.#exited;
  }
}
