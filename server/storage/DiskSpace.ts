import fs from 'node:fs/promises';
import type { Logger } from 'pino';

export interface DiskSpaceReport {
  ok: boolean;
  path: string;
  freeBytes: number;
  minFreeBytes: number;
}

export interface DiskSpaceOptions {
  /** The directory whose file system is watched (DATA_DIR: database, segments, finalize output). */
  path: string;
  /** MIN_FREE_DISK_MB in bytes. */
  minFreeBytes: number;
  logger: Logger;
  /** How often the free space is logged-checked in the background. */
  checkIntervalMs?: number;
}

/**
 * Free space on DATA_DIR's file system (`fs.statfs`, space available to this user) against the
 * MIN_FREE_DISK_MB threshold. Below it, new interviews are refused (507) and /healthz reports
 * `disk` down; interviews already running keep recording as long as writes succeed. Each change
 * between enough and too little is logged once, with the numbers.
 */
export class DiskSpace {
  readonly #options: DiskSpaceOptions;
  readonly #timer: NodeJS.Timeout;
  #lastOk: boolean | undefined;

  constructor(options: DiskSpaceOptions) {
    this.#options = options;
    this.#timer = setInterval(() => void this.check().catch(() => undefined), options.checkIntervalMs ?? 10_000);
    this.#timer.unref();
  }

  async check(): Promise<DiskSpaceReport> {
    const stats = await fs.statfs(this.#options.path);
    const freeBytes = Number(stats.bavail) * Number(stats.bsize);
    const report = { ok: freeBytes >= this.#options.minFreeBytes, path: this.#options.path, freeBytes, minFreeBytes: this.#options.minFreeBytes };
    if (report.ok !== this.#lastOk) {
      const mb = (bytes: number) => Math.floor(bytes / (1024 * 1024));
      if (!report.ok) {
        this.#options.logger.warn(
          { disk: report },
          `free disk space on ${report.path} is ${mb(freeBytes)} MB, below MIN_FREE_DISK_MB (${mb(report.minFreeBytes)} MB): new interviews are refused; running ones continue`,
        );
      } else if (this.#lastOk === false) {
        this.#options.logger.info({ disk: report }, `free disk space is back above MIN_FREE_DISK_MB: new interviews are accepted again`);
      }
      this.#lastOk = report.ok;
    }
    return report;
  }

  /** The last check's verdict (undefined before the first): what a cluster node reports in its heartbeat. */
  get lastOk(): boolean | undefined {
    return this.#lastOk;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
