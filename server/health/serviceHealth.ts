import type { Admission } from '../admission/Admission.ts';
import type { NodeRegistry } from '../cluster/NodeRegistry.ts';
import type { Database } from '../db/Database.ts';
import type { HealthProbe } from '../http/healthRoutes.ts';
import type { WorkerPool } from '../sfu/WorkerPool.ts';
import type { DiskSpace } from '../storage/DiskSpace.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';

export interface HealthSources {
  draining: () => boolean;
  disk: DiskSpace;
  admission: Admission;
  database: Database;
  objectStore: ObjectStore;
  workers: WorkerPool;
  /** Cluster mode: this node's heartbeat; undefined on a single node (no probe). */
  nodes?: NodeRegistry | undefined;
}

/** What /healthz checks, part by part. */
export function serviceHealthProbes(sources: HealthSources): HealthProbe[] {
  const { disk, admission, database, objectStore, workers, nodes } = sources;
  return [
    ...(nodes ? [{ name: 'cluster', check: () => nodes.health() }] : []),
    { name: 'service', check: () => ({ ok: !sources.draining(), draining: sources.draining() }) },
    { name: 'disk', check: async () => ({ ...(await disk.check()) }) },
    { name: 'admission', check: () => ({ ...admission.report() }) },
    { name: 'database', check: () => database.isUp() },
    { name: 'objectStore', check: () => objectStore.isUp() },
    {
      name: 'mediasoup',
      check: () => {
        const ports = workers.portHeadroom();
        // Down when no worker could take one more WebRTC connection: nothing new would get media.
        const ok = workers.isUp() && ports.some((worker) => worker.free > 0);
        return { ok, workers: workers.workers.length, alive: workers.workers.filter((w) => !w.closed).length, ports };
      },
    },
  ];
}
