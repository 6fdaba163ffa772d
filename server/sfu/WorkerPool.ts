import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { loadMediasoup } from './loadMediasoup.ts';
import { routerMediaCodecs } from './mediaCodecs.ts';

export interface WorkerPoolOptions {
  size: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  /**
   * Single-port mode: worker i runs a WebRtcServer on UDP and TCP `port + i`, shared by all its
   * WebRTC transports (the range then serves only the recorder's PlainTransports).
   */
  webRtcServer?: { port: number; listenIp: types.TransportListenIp } | undefined;
  logger: Logger;
}

export type WorkerPoolEvents = {
  /** A worker died; its routers are gone. A replacement is already being started. */
  workerDied: [worker: types.Worker];
};

interface Slot {
  worker: types.Worker;
  /** The worker's WebRtcServer (single-port mode), recreated with a replacement worker. */
  webRtcServer: types.WebRtcServer | undefined;
  /** Its UDP/TCP port: transports on it take no port of the range. */
  webRtcServerPort: number | undefined;
  routers: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  /** RTC ports the worker's transports hold now, per protocol (mediasoup allocates each from the range). */
  portsInUse: { udp: number; tcp: number };
}

/** How much of one worker's RTC port range is left, for /healthz. */
export interface PortHeadroom {
  pid: number;
  rangeSize: number;
  udpInUse: number;
  tcpInUse: number;
  /** Ports left for the protocol that has fewer left. */
  free: number;
}

/** The ports one transport takes from its worker's range (none when it lives on the WebRtcServer's port). */
function portsOf(transport: types.Transport, webRtcServerPort: number | undefined): { udp: number; tcp: number } {
  const shape = transport as unknown as { iceCandidates?: Array<{ protocol: string; port: number }>; tuple?: unknown; rtcpTuple?: unknown };
  if (Array.isArray(shape.iceCandidates)) {
    if (webRtcServerPort !== undefined && shape.iceCandidates.every((c) => c.port === webRtcServerPort)) return { udp: 0, tcp: 0 };
    return { udp: shape.iceCandidates.filter((c) => c.protocol === 'udp').length, tcp: shape.iceCandidates.filter((c) => c.protocol === 'tcp').length };
  }
  if ('rtcpTuple' in shape) return { udp: shape.rtcpTuple ? 2 : 1, tcp: 0 };
  return { udp: shape.tuple ? 1 : 0, tcp: 0 };
}

/**
 * mediasoup workers, one port slice each (default one per core). A worker that dies is replaced
 * in its slot; routers go to the worker with the fewest routers.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #slots: Slot[];
  readonly #logger: Logger;
  readonly #webRtcServer: WorkerPoolOptions['webRtcServer'];
  /** Which WebRtcServer a router's transports use (the one of the worker it was made on). */
  readonly #routerServers = new WeakMap<types.Router, types.WebRtcServer>();
  #closed = false;

  private constructor(slots: Slot[], logger: Logger, webRtcServer: WorkerPoolOptions['webRtcServer']) {
    super();
    this.#slots = slots;
    this.#logger = logger;
    this.#webRtcServer = webRtcServer;
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const span = options.rtcMaxPort - options.rtcMinPort + 1;
    const size = Math.max(1, Math.min(options.size, Math.floor(span / 2)));
    const slice = Math.floor(span / size);
    const slots: Slot[] = [];
    const pool = new WorkerPool(slots, options.logger, options.webRtcServer);
    try {
      // All at once: each worker is a process of its own, and a restart waits for the slowest only.
      const started = await Promise.allSettled(
        Array.from({ length: size }, async (_, index) => {
          const rtcMinPort = options.rtcMinPort + index * slice;
          const rtcMaxPort = index === size - 1 ? options.rtcMaxPort : rtcMinPort + slice - 1;
          const webRtcServerPort = options.webRtcServer ? options.webRtcServer.port + index : undefined;
          const worker = await pool.#startWorker(rtcMinPort, rtcMaxPort);
          const slot: Slot = { worker, webRtcServer: undefined, webRtcServerPort, routers: 0, rtcMinPort, rtcMaxPort, portsInUse: { udp: 0, tcp: 0 } };
          slots[index] = slot;
          slot.webRtcServer = await pool.#startWebRtcServer(worker, webRtcServerPort);
        }),
      );
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      for (const slot of slots) pool.#watch(slot);
    } catch (error) {
      // A port already taken, say: no worker of a pool that failed to start may linger (the slots
      // of those that never started are empty).
      const made = slots.filter((slot) => slot !== undefined);
      slots.splice(0, slots.length, ...made);
      pool.close();
      throw error;
    }
    return pool;
  }

  async #startWebRtcServer(worker: types.Worker, port: number | undefined): Promise<types.WebRtcServer | undefined> {
    if (port === undefined || !this.#webRtcServer) return undefined;
    const { ip, announcedIp } = this.#webRtcServer.listenIp;
    const announced = announcedIp ? { announcedIp } : {};
    return worker.createWebRtcServer({
      listenInfos: [
        { protocol: 'udp', ip, port, ...announced },
        { protocol: 'tcp', ip, port, ...announced },
      ],
    });
  }

  async #startWorker(rtcMinPort: number, rtcMaxPort: number): Promise<types.Worker> {
    const mediasoup = await loadMediasoup();
    return mediasoup.createWorker({ rtcMinPort, rtcMaxPort, logLevel: 'warn' });
  }

  #watch(slot: Slot): void {
    const worker = slot.worker;
    worker.observer.on('newrouter', (router) => {
      router.observer.on('newtransport', (transport) => {
        const ports = portsOf(transport, slot.webRtcServerPort);
        slot.portsInUse.udp += ports.udp;
        slot.portsInUse.tcp += ports.tcp;
        transport.observer.once('close', () => {
          if (slot.worker !== worker) return;
          slot.portsInUse.udp -= ports.udp;
          slot.portsInUse.tcp -= ports.tcp;
        });
      });
    });
    worker.once('died', (error) => {
      if (this.#closed) return;
      this.#logger.error({ pid: worker.pid, err: error }, 'mediasoup worker died; replacing it');
      slot.routers = 0;
      slot.webRtcServer = undefined;
      slot.portsInUse = { udp: 0, tcp: 0 };
      this.emit('workerDied', worker);
      void this.#replace(slot, worker);
    });
  }

  async #replace(slot: Slot, dead: types.Worker): Promise<void> {
    for (let attempt = 1; !this.#closed; attempt++) {
      try {
        const worker = await this.#startWorker(slot.rtcMinPort, slot.rtcMaxPort);
        if (this.#closed) {
          worker.close();
          return;
        }
        // The dead worker's port is free again once its process is gone; if not yet, the next attempt.
        try {
          slot.webRtcServer = await this.#startWebRtcServer(worker, slot.webRtcServerPort);
        } catch (error) {
          worker.close();
          throw error;
        }
        slot.worker = worker;
        this.#watch(slot);
        this.#logger.info({ oldPid: dead.pid, pid: worker.pid }, 'mediasoup worker replaced');
        return;
      } catch (error) {
        this.#logger.error({ err: error, attempt }, 'could not start a replacement mediasoup worker');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * attempt)));
      }
    }
  }

  /** A new router (VP9, VP8, Opus) on the least-loaded live worker. */
  async createRouter(appData: Record<string, unknown> = {}): Promise<types.Router> {
    const live = this.#slots.filter((slot) => !slot.worker.closed);
    if (live.length === 0) throw new Error('no mediasoup worker is running');
    const slot = live.reduce((best, candidate) => (candidate.routers < best.routers ? candidate : best));
    // Counted before the await, so routers requested together spread over the workers.
    const worker = slot.worker;
    slot.routers++;
    const release = () => {
      if (slot.worker === worker) slot.routers--;
    };
    try {
      const router = await worker.createRouter({ mediaCodecs: routerMediaCodecs, appData });
      router.observer.once('close', release);
      if (slot.webRtcServer && slot.worker === worker) this.#routerServers.set(router, slot.webRtcServer);
      return router;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** The WebRtcServer a router's WebRTC transports go through; undefined in range mode. */
  webRtcServerOf(router: types.Router): types.WebRtcServer | undefined {
    const server = this.#routerServers.get(router);
    return server && !server.closed ? server : undefined;
  }

  get workers(): types.Worker[] {
    return this.#slots.map((slot) => slot.worker);
  }

  /** Per worker: how many of its RTC ports are in use and how many are left. */
  portHeadroom(): PortHeadroom[] {
    return this.#slots.map((slot) => {
      const rangeSize = slot.rtcMaxPort - slot.rtcMinPort + 1;
      const { udp, tcp } = slot.portsInUse;
      return { pid: slot.worker.pid, rangeSize, udpInUse: udp, tcpInUse: tcp, free: Math.max(0, rangeSize - Math.max(udp, tcp)) };
    });
  }

  /** Whether every slot has a live worker. */
  isUp(): boolean {
    return this.#slots.length > 0 && this.#slots.every((slot) => !slot.worker.closed);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) slot.worker.close(); // closes its WebRtcServer too
  }
}
