import fs from 'node:fs/promises';

export interface ProcessUsage {
  /** User + system CPU time since the process started. */
  cpuSeconds: number;
  rssBytes: number;
}

/** CPU time and resident memory of a process from /proc (Linux); undefined once it is gone. */
export async function processUsage(pid: number): Promise<ProcessUsage | undefined> {
  try {
    const [stat, status] = await Promise.all([fs.readFile(`/proc/${pid}/stat`, 'utf8'), fs.readFile(`/proc/${pid}/status`, 'utf8')]);
    // The command name may contain spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100; // USER_HZ, 100 on every Linux we run on
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuSeconds, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}
