// Linux /proc readings for the benchmark: CPU time and memory per process, the machine's CPU, and
// the kernel's UDP counters (datagrams dropped because a socket's receive buffer was full).
import fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ

interface ProcSample {
  cpuSeconds: number;
  /** 0 unless memory was asked for. */
  rssBytes: number;
  /** Proportional set size: shared pages (ffmpeg's libraries) split between the processes using them. */
  pssBytes: number | undefined;
}

function sampleProcess(pid: number, withMemory = false): ProcSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    // The once-a-second CPU samples skip the memory files: they are read once, at the window's end.
    let rssBytes = 0;
    let pssBytes: number | undefined;
    if (withMemory) {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      rssBytes = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pssBytes = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) * 1024;
    }
    return { cpuSeconds, rssBytes, pssBytes };
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of the whole machine (all cores). */
/**
 * CPU seconds of this process's children that have exited and been waited for (cutime + cstime):
 * an ffmpeg's whole run, its start included, which its own `-benchmark` figure leaves out.
 */
export function reapedChildrenCpuSeconds(): number {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

export function machineCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

export interface UdpCounters {
  inDatagrams: number;
  rcvbufErrors: number;
  inErrors: number;
}

export function udpCounters(): UdpCounters {
  const lines = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  const get = (name: string) => values[names.indexOf(name)] ?? 0;
  return { inDatagrams: get('InDatagrams'), rcvbufErrors: get('RcvbufErrors'), inErrors: get('InErrors') };
}

/**
 * Accumulates CPU seconds per group of processes over a window, sampling often enough that
 * processes which come and go (ffmpeg restarts) are counted for the time they lived.
 */
export class CpuMeter {
  readonly #groups: () => Record<string, number[]>;
  readonly #last = new Map<number, { group: string; cpu: number }>();
  readonly #cpu = new Map<string, number>();
  readonly #rss = new Map<string, number>();
  readonly #pss = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #machineStart = machineCpu();

  constructor(groups: () => Record<string, number[]>) {
    this.#groups = groups;
  }

  start(intervalMs = 1000): void {
    this.#startedAt = Date.now();
    this.#machineStart = machineCpu();
    this.#sample(true);
    this.#timer = setInterval(() => this.#sample(false), intervalMs);
  }

  #sampleMemory(): void {
    for (const [group, pids] of Object.entries(this.#groups())) {
      let rss = 0;
      let pss = 0;
      for (const pid of pids) {
        const sample = sampleProcess(pid, true);
        rss += sample?.rssBytes ?? 0;
        pss += sample?.pssBytes ?? 0;
      }
      this.#rss.set(group, rss);
      this.#pss.set(group, pss);
    }
  }

  #sample(baseline: boolean): void {
    for (const [group, pids] of Object.entries(this.#groups())) {
      for (const pid of pids) {
        const sample = sampleProcess(pid);
        if (!sample) continue;
        const previous = this.#last.get(pid);
        // A pid seen for the first time after the baseline started inside the window: all its CPU counts.
        const from = previous ? previous.cpu : baseline ? sample.cpuSeconds : 0;
        if (!baseline) this.#cpu.set(group, (this.#cpu.get(group) ?? 0) + (sample.cpuSeconds - from));
        this.#last.set(pid, { group, cpu: sample.cpuSeconds });
      }
    }
  }

  /** Per group: cores used on average over the window, and memory at its end. */
  stop(): { seconds: number; machineBusyCores: number; groups: Record<string, { cores: number; rssMB: number; pssMB: number }> } {
    clearInterval(this.#timer);
    this.#sample(false);
    const seconds = (Date.now() - this.#startedAt) / 1000;
    const machine = machineCpu();
    // Memory only after the window closed: reading smaps_rollup of ~100 processes takes ~70 ms of
    // this process, which would otherwise count as the service's CPU.
    this.#sampleMemory();
    const cores = (machine.busy - this.#machineStart.busy) / TICKS_PER_SECOND / seconds;
    const groups: Record<string, { cores: number; rssMB: number; pssMB: number }> = {};
    for (const group of Object.keys(this.#groups())) {
      groups[group] = {
        cores: round((this.#cpu.get(group) ?? 0) / seconds, 3),
        rssMB: round((this.#rss.get(group) ?? 0) / 1048576, 1),
        pssMB: round((this.#pss.get(group) ?? 0) / 1048576, 1),
      };
    }
    return { seconds: round(seconds, 1), machineBusyCores: round(cores, 3), groups };
  }
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Socket inodes a process holds (from its open file descriptors). */
function socketInodes(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((inode): inode is string => inode !== undefined)
      .map(Number);
  } catch {
    return [];
  }
}

/** The UDP socket inodes `pids` hold: what socketDrops() reads, worth keeping when asked often. */
export function socketInodeSet(pids: number[]): Set<number> {
  return new Set(pids.flatMap(socketInodes));
}

/**
 * Datagrams the kernel dropped because a UDP socket's receive buffer was full, summed over the
 * sockets of `pids` (the drops column of /proc/net/udp). Unlike the machine-wide RcvbufErrors
 * counter this leaves out sockets nobody reads on purpose (ffmpeg's RTP output never reads the
 * RTCP the SFU sends back to the load generator).
 */
export function socketDrops(pids: number[] | Set<number>): number {
  const inodes = pids instanceof Set ? pids : socketInodeSet(pids);
  let drops = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 13) continue;
      if (inodes.has(Number(fields[9]))) drops += Number(fields[fields.length - 1]);
    }
  }
  return drops;
}

/**
 * The busiest processes of the machine over `ms`: on a machine shared with other work, what was
 * running beside the bench (its cores are not ours, but they slow ours).
 */
export async function busiestProcesses(ms: number, top = 6): Promise<Array<{ pid: number; command: string; cores: number }>> {
  const read = () => {
    const cpu = new Map<number, number>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const sample = sampleProcess(Number(entry));
      if (sample) cpu.set(Number(entry), sample.cpuSeconds);
    }
    return cpu;
  };
  const before = read();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = read();
  const command = (pid: number) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim().slice(0, 120);
    } catch {
      return '?';
    }
  };
  return [...after]
    .map(([pid, cpu]) => ({ pid, cores: (cpu - (before.get(pid) ?? cpu)) / (ms / 1000) }))
    .filter((entry) => entry.cores > 0.01)
    .sort((a, b) => b.cores - a.cores)
    .slice(0, top)
    .map((entry) => ({ pid: entry.pid, command: command(entry.pid), cores: round(entry.cores, 3) }));
}
