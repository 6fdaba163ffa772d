import type { Logger } from 'pino';

interface Step {
  name: string;
  close: () => unknown;
  /** How long the step may take before the shutdown goes on without it (none: awaited fully). */
  limitMs: number | undefined;
}

/**
 * The service's parts in the order they were built, each with how it is closed: closed in
 * reverse, both when a start fails half-way (rollback) and on shutdown. A step that fails or
 * hangs is logged and left behind, so it cannot hold the exit (and the deploy).
 */
export class ShutdownSteps {
  readonly #steps: Step[] = [];
  readonly #logger: Logger;
  #current: string | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Closes `close` when the service shuts down, before everything added earlier. */
  add(name: string, close: () => unknown, options: { limitMs?: number } = {}): void {
    this.#steps.push({ name, close, limitMs: options.limitMs });
  }

  /** The step in progress, named in the log when a shutdown takes too long. */
  get current(): string | undefined {
    return this.#current;
  }

  /** Runs every step, last added first. Each runs once. */
  async run(): Promise<void> {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      await this.#runStep(step);
    }
    this.#current = undefined;
  }

  async #runStep(step: Step): Promise<void> {
    this.#current = step.name;
    const startedAt = Date.now();
    let limit: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.resolve()
        .then(step.close)
        .then(
          () => 'done' as const,
          (error: unknown) => {
            this.#logger.error({ step: step.name, err: error }, 'shutdown step failed');
            return 'failed' as const;
          },
        ),
      ...(step.limitMs === undefined ? [] : [new Promise<'timed out'>((resolve) => (limit = setTimeout(() => resolve('timed out'), step.limitMs)))]),
    ]);
    clearTimeout(limit);
    const ms = Date.now() - startedAt;
    if (outcome === 'timed out') this.#logger.warn({ step: step.name, ms }, `shutdown step "${step.name}" did not finish in ${ms} ms; going on without it`);
    else if (ms > 1000) this.#logger.warn({ step: step.name, ms }, `shutdown step "${step.name}" was slow`);
  }
}
