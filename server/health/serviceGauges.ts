import fs from 'node:fs';
import { Counter, Gauge, Registry } from 'prom-client';
import type { types } from 'mediasoup';
import type { Admission } from '../admission/Admission.ts';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import type { SessionRegistry } from '../session/SessionRegistry.ts';
import type { WorkerPool } from '../sfu/WorkerPool.ts';
import type { SignalingServer } from '../signaling/SignalingServer.ts';
import type { DiskSpace } from '../storage/DiskSpace.ts';
import { TRACK_KINDS, TRACK_NAMES } from '../../shared/protocol.ts';

export interface GaugeSources {
  interviews: InterviewService;
  signaling: SignalingServer;
  sessions: SessionRegistry;
  workers: WorkerPool;
  disk: DiskSpace;
  admission: Admission;
}

/** Resident memory of a process from /proc (Linux); undefined elsewhere. */
function residentBytes(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gauges read from one service's parts at scrape time (so they are never stale). A registry per
 * service: several services in one process (tests) each report their own.
 */
export function createServiceGauges(sources: GaugeSources): Registry {
  const registry = new Registry();
  const registers = [registry];
  const producerTotals = producerTotalsOf(sources.sessions);

  new Gauge({
    name: 'interview_ingest_live_interviews',
    help: 'Interviews live now (media reached the server, not ended)',
    registers,
    async collect() {
      this.set(await sources.interviews.countLive());
    },
  });
  new Gauge({
    name: 'interview_ingest_connected_participants',
    help: 'Signalling connections open now, by role',
    labelNames: ['role'] as const,
    registers,
    collect() {
      const counts = sources.signaling.connectionsByRole();
      for (const role of ['candidate', 'proctor'] as const) this.set({ role }, counts[role]);
    },
  });
  new Gauge({
    name: 'interview_ingest_recordings_running',
    help: 'Recordings being written now',
    registers,
    collect() {
      this.set(sources.sessions.recordingCount);
    },
  });
  new Gauge({
    name: 'interview_ingest_rtp_packets_received',
    help: "RTP packets received from the candidates' live producers, by track kind",
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const totals = await producerTotals();
      for (const kind of ['audio', 'video'] as const) this.set({ kind }, totals[kind].packets);
    },
  });
  new Gauge({
    name: 'interview_ingest_rtp_packets_lost',
    help: "RTP packets lost on the way from the candidates (live producers, as mediasoup counts them), by track kind",
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const totals = await producerTotals();
      for (const kind of ['audio', 'video'] as const) this.set({ kind }, totals[kind].lost);
    },
  });
  // A counter read from the worker itself (it resets when a dead worker is replaced, as counters may).
  new Counter({
    name: 'interview_ingest_mediasoup_worker_cpu_seconds_total',
    help: 'CPU time (user + system) used by each mediasoup worker process',
    labelNames: ['worker'] as const,
    registers,
    async collect() {
      this.reset();
      for (const [index, worker] of sources.workers.workers.entries()) {
        const usage = await usageOf(worker);
        if (usage) this.inc({ worker: String(index) }, (usage.ru_utime + usage.ru_stime) / 1000);
      }
    },
  });
  new Gauge({
    name: 'interview_ingest_mediasoup_worker_resident_memory_bytes',
    help: 'Resident memory of each mediasoup worker process',
    labelNames: ['worker'] as const,
    registers,
    collect() {
      for (const [index, worker] of sources.workers.workers.entries()) {
        const bytes = worker.closed ? undefined : residentBytes(worker.pid);
        if (bytes !== undefined) this.set({ worker: String(index) }, bytes);
      }
    },
  });
  new Gauge({
    name: 'interview_ingest_mediasoup_worker_free_ports',
    help: "RTC ports left in each mediasoup worker's range",
    labelNames: ['worker'] as const,
    registers,
    collect() {
      for (const [index, headroom] of sources.workers.portHeadroom().entries()) this.set({ worker: String(index) }, headroom.free);
    },
  });
  new Gauge({
    name: 'interview_ingest_admission_cores',
    help: 'Admission: cores reserved by active interviews, the machine measured busy, and the threshold',
    labelNames: ['what'] as const,
    registers,
    collect() {
      const report = sources.admission.report();
      this.set({ what: 'reserved' }, report.reservedCores);
      this.set({ what: 'measured_busy' }, report.measuredBusyCores);
      this.set({ what: 'threshold' }, report.thresholdCores);
    },
  });
  new Gauge({
    name: 'interview_ingest_at_capacity',
    help: '1 while new interviews are refused (503 at_capacity), else 0',
    registers,
    collect() {
      this.set(sources.admission.report().ok ? 0 : 1);
    },
  });
  new Gauge({
    name: 'interview_ingest_database_connections',
    help: 'Database connections in use, and requests waiting for one (SQLite has one connection)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const { inUse, waiting } = sources.interviews.database.connections();
      this.set({ state: 'in_use' }, inUse);
      this.set({ state: 'waiting' }, waiting);
    },
  });
  new Gauge({
    name: 'interview_ingest_disk_free_bytes',
    help: "Free space on DATA_DIR's file system",
    registers,
    async collect() {
      this.set((await sources.disk.check()).freeBytes);
    },
  });
  return registry;
}

async function usageOf(worker: types.Worker): Promise<types.WorkerResourceUsage | undefined> {
  if (worker.closed) return undefined;
  return worker.getResourceUsage().catch(() => undefined);
}

type Totals = Record<'audio' | 'video', { packets: number; lost: number }>;

/** One pass over the live producers per scrape, shared by the two packet gauges of one registry. */
function producerTotalsOf(sessions: SessionRegistry): () => Promise<Totals> {
  let last: { at: number; totals: Promise<Totals> } | undefined;
  return () => {
    if (last && Date.now() - last.at < 500) return last.totals;
    const totals = (async () => {
      const sum: Totals = { audio: { packets: 0, lost: 0 }, video: { packets: 0, lost: 0 } };
      for (const room of sessions.rooms) {
        for (const track of TRACK_NAMES) {
          const producer = room.getProducer(track);
          if (!producer || producer.closed) continue;
          for (const stat of await producer.getStats().catch(() => [])) {
            sum[TRACK_KINDS[track]].packets += stat.packetCount;
            sum[TRACK_KINDS[track]].lost += stat.packetsLost;
          }
        }
      }
      return sum;
    })();
    last = { at: Date.now(), totals };
    return totals;
  };
}
