import os from 'node:os';

/** Busy cores of the whole machine, averaged over a short window (os.cpus() times, sampled each second). */
export class CpuSampler {
  readonly #windowSize: number;
  readonly #samples: number[] = [];
  #last = snapshot();
  readonly #timer: NodeJS.Timeout;

  constructor(options: { intervalMs?: number; window?: number } = {}) {
    this.#windowSize = options.window ?? 5;
    this.#timer = setInterval(() => this.#sample(), options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  #sample(): void {
    const now = snapshot();
    const elapsed = now.total - this.#last.total;
    if (elapsed > 0) {
      // Total and idle are summed over all cores: busy share × cores = busy cores.
      this.#samples.push(((elapsed - (now.idle - this.#last.idle)) / elapsed) * now.cores);
      if (this.#samples.length > this.#windowSize) this.#samples.shift();
    }
    this.#last = now;
  }

  /** Busy cores, mean of the last few seconds (0 before the first sample). */
  get busyCores(): number {
    return this.#samples.length === 0 ? 0 : this.#samples.reduce((sum, value) => sum + value, 0) / this.#samples.length;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

function snapshot(): { total: number; idle: number; cores: number } {
  const cpus = os.cpus();
  let total = 0;
  let idle = 0;
  for (const cpu of cpus) {
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
    idle += cpu.times.idle;
  }
  return { total, idle, cores: cpus.length };
}
