import os from 'node:os';
import { AppError } from '../errors.ts';
import { CpuSampler } from './CpuSampler.ts';

export interface AdmissionSettings {
  /** Share of all cores that reservations (and the measured load) may reach; 0 turns admission off. */
  maxCpuFraction: number;
  /** Cores one live interview costs this service (measured: 0.03–0.04 on this machine kind). */
  cpuCostPerInterview: number;
  /** Whether the machine's measured load counts too (off on a host shared with other work). */
  measuredCpu: boolean;
}

export interface AdmissionReport {
  ok: boolean;
  enabled: boolean;
  activeInterviews: number;
  reservedCores: number;
  measuredBusyCores: number;
  thresholdCores: number;
}

/**
 * Admission before overload, as LiveKit Egress does it: each active interview reserves a
 * measured CPU cost, and a new one is refused (503 at_capacity) when the reservations with it,
 * or the machine's measured load, would pass the threshold. Refusing one interview is cheaper than
 * degrading every running one.
 */
export class Admission {
  readonly #settings: AdmissionSettings;
  readonly #activeInterviews: () => number;
  readonly #cores: number;
  readonly #sampler: { readonly busyCores: number; close(): void } | undefined;

  constructor(settings: AdmissionSettings, activeInterviews: () => number, options: { cores?: number } = {}) {
    this.#settings = settings;
    this.#activeInterviews = activeInterviews;
    this.#cores = options.cores ?? os.cpus().length;
    this.#sampler = settings.maxCpuFraction > 0 && settings.measuredCpu ? new CpuSampler() : undefined;
  }

  get enabled(): boolean {
    return this.#settings.maxCpuFraction > 0;
  }

  /** Whether one more interview fits now. */
  report(): AdmissionReport {
    const activeInterviews = this.#activeInterviews();
    const reservedCores = activeInterviews * this.#settings.cpuCostPerInterview;
    const thresholdCores = this.#settings.maxCpuFraction * this.#cores;
    const measuredBusyCores = this.#sampler?.busyCores ?? 0;
    const ok = !this.enabled || (reservedCores + this.#settings.cpuCostPerInterview <= thresholdCores && measuredBusyCores < thresholdCores);
    return { ok, enabled: this.enabled, activeInterviews, reservedCores, measuredBusyCores, thresholdCores };
  }

  /** Throws at_capacity when one more interview would not fit. */
  admitOne(): void {
    const report = this.report();
    if (report.ok) return;
    const why =
      report.measuredBusyCores >= report.thresholdCores
        ? `the machine is busy (${report.measuredBusyCores.toFixed(2)} of ${this.#cores} cores)`
        : `${report.activeInterviews} interviews already reserve ${report.reservedCores.toFixed(2)} of the ${report.thresholdCores.toFixed(2)} cores allowed`;
    throw new AppError('at_capacity', `at capacity: ${why}; try again later or on another node`);
  }

  close(): void {
    this.#sampler?.close();
  }
}
