import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { TRACK_KINDS, TRACK_NAMES, type MediaKind, type ScreenSource, type TrackName } from '../../shared/protocol.ts';
import type { RoomTransportSettings } from './transportOptions.ts';
import type { WorkerPool } from './WorkerPool.ts';

// moved: another node owns the interview now (this node's lease was lost) and records it there.
export type RoomCloseReason = 'ended' | 'workerDied' | 'idle' | 'shutdown' | 'moved';

export interface ProducerAppData extends types.AppData {
  track: TrackName;
  /** Counts publications of this track in this room: a reload or re-share is a new generation. */
  generation: number;
  /** Screen track only: what the candidate's page could tell about the share. */
  screenSource?: ScreenSource;
}

export interface TransportAppData extends types.AppData {
  direction: 'send' | 'recv';
}

export type InterviewRoomEvents = {
  /** A new producer for the track: the first one or a re-publication that replaced the previous. */
  producer: [track: TrackName, producer: types.Producer<ProducerAppData>];
  /** The track's producer is gone (replaced, stopped, its transport closed, or the room closed). */
  producerClosed: [track: TrackName, producer: types.Producer<ProducerAppData>];
  /** All three tracks are being received (RTP counted by the worker). Emitted per set of generations. */
  flowing: [];
  closed: [reason: RoomCloseReason];
};

export interface InterviewRoomOptions {
  interviewId: string;
  workers: WorkerPool;
  transport: RoomTransportSettings;
  logger: Logger;
  /** How long a room nobody is in stays open (a reload rejoins the same router). */
  idleCloseMs?: number;
  /** How long to wait for RTP on all three tracks before giving up until the next publication. */
  flowDeadlineMs?: number;
}

const FLOW_POLL_MS = 200;
const KEYFRAME_REQUEST_DELAY_MS = 350;

/** One interview's SFU: a router on the least-loaded worker, the candidate's three producers. */
export class InterviewRoom extends EventEmitter<InterviewRoomEvents> {
  readonly interviewId: string;
  readonly router: types.Router;
  /** Single-port mode: the worker's shared UDP/TCP port every WebRTC transport of this room uses. */
  readonly #webRtcServer: types.WebRtcServer | undefined;
  readonly #transport: RoomTransportSettings;
  readonly #logger: Logger;
  readonly #idleCloseMs: number;
  readonly #flowDeadlineMs: number;
  readonly #producers = new Map<TrackName, types.Producer<ProducerAppData>>();
  readonly #members = new Set<string>();
  #generation = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #flowTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: InterviewRoomOptions, router: types.Router) {
    super();
    this.interviewId = options.interviewId;
    this.router = router;
    this.#webRtcServer = options.workers.webRtcServerOf(router);
    this.#transport = options.transport;
    this.#logger = options.logger.child({ interviewId: options.interviewId });
    this.#idleCloseMs = options.idleCloseMs ?? 60_000;
    this.#flowDeadlineMs = options.flowDeadlineMs ?? 30_000;
  }

  static async create(options: InterviewRoomOptions): Promise<InterviewRoom> {
    const router = await options.workers.createRouter({ interviewId: options.interviewId });
    const room = new InterviewRoom(options, router);
    router.on('workerclose', () => room.close('workerDied'));
    room.#armIdleTimer();
    return room;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.router.rtpCapabilities;
  }

  getProducer(track: TrackName): types.Producer<ProducerAppData> | undefined {
    return this.#producers.get(track);
  }

  /** Tracks with a producer right now, in protocol order. */
  get tracks(): TrackName[] {
    return TRACK_NAMES.filter((track) => this.#producers.has(track));
  }

  /** Someone (a socket) is in the room; an empty room closes after a grace period. */
  addMember(memberId: string): void {
    this.#members.add(memberId);
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  removeMember(memberId: string): void {
    if (this.#members.delete(memberId) && this.#members.size === 0) this.#armIdleTimer();
  }

  /** A room is idle with nobody in it and no media coming in (a producer adopted from a plain ingest has no socket). */
  #armIdleTimer(): void {
    if (this.#closed || this.#members.size > 0 || this.#producers.size > 0) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.close('idle'), this.#idleCloseMs);
    this.#idleTimer.unref();
  }

  #assertOpen(): void {
    if (this.#closed) throw new AppError('unavailable', 'the interview room is closed; reconnect');
  }

  async createWebRtcTransport(direction: 'send' | 'recv'): Promise<types.WebRtcTransport<TransportAppData>> {
    this.#assertOpen();
    let transport: types.WebRtcTransport<TransportAppData>;
    try {
      const common = {
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: this.#transport.initialAvailableOutgoingBitrate,
        appData: { direction },
      };
      transport = await this.router.createWebRtcTransport<TransportAppData>(
        this.#webRtcServer ? { ...common, webRtcServer: this.#webRtcServer } : { ...common, listenIps: [this.#transport.listenIp] },
      );
    } catch (error) {
      // The worker's RTC port range is used up: a capacity problem, not a bug of this request.
      if (error instanceof Error && /no more available ports/i.test(error.message)) {
        this.#logger.warn({ interviewId: this.interviewId }, 'the media worker has no free RTC ports');
        throw new AppError('unavailable', 'the media server has no free ports right now; try again shortly');
      }
      throw error;
    }
    if (direction === 'send') {
      await transport.setMaxIncomingBitrate(this.#transport.maxIncomingBitrate).catch((error: unknown) => {
        this.#logger.warn({ err: error }, 'could not cap the incoming bitrate');
      });
    }
    return transport;
  }

  /** Publishes a track; an earlier producer of the same track is closed first (one per track). */
  async produce(
    transport: types.WebRtcTransport<TransportAppData>,
    track: TrackName,
    kind: MediaKind,
    rtpParameters: types.RtpParameters,
    screenSource?: ScreenSource,
  ): Promise<types.Producer<ProducerAppData>> {
    this.#assertOpen();
    if (transport.appData.direction !== 'send') throw new AppError('forbidden', 'media can only be produced on a send transport');
    if (TRACK_KINDS[track] !== kind) throw new AppError('invalid_input', `track ${track} must be ${TRACK_KINDS[track]}`, 'kind');
    const producer = await transport.produce<ProducerAppData>({
      kind,
      rtpParameters,
      // Chromium's encoder ignores a keyframe request within 300 ms of its last keyframe. With a
      // delay, requests close together (proctors joining, the recorder's periodic request) are
      // coalesced and one is sent when it passes, instead of being lost to that throttle.
      keyFrameRequestDelay: kind === 'video' ? KEYFRAME_REQUEST_DELAY_MS : 0,
      appData: { track, generation: ++this.#generation, ...(screenSource ? { screenSource } : {}) },
    });
    if (this.#closed) {
      producer.close();
      this.#assertOpen();
    }
    // The connection closed while the worker made it (mediasoup still hands the producer over).
    if (transport.closed) {
      producer.close();
      throw new AppError('conflict', 'the connection closed while publishing');
    }
    return this.#register(track, producer);
  }

  /**
   * Takes a producer made elsewhere on this room's router (a PlainTransport publisher, as tests
   * and server-side sources use) as the track's new generation, exactly like produce().
   */
  adoptProducer(track: TrackName, producer: types.Producer): types.Producer<ProducerAppData> {
    this.#assertOpen();
    if (TRACK_KINDS[track] !== producer.kind) throw new AppError('invalid_input', `track ${track} must be ${TRACK_KINDS[track]}`, 'kind');
    if (producer.closed) throw new AppError('conflict', `the ${track} producer is already closed`);
    const adopted = producer as types.Producer<ProducerAppData>;
    Object.assign(adopted.appData, { track, generation: ++this.#generation });
    return this.#register(track, adopted);
  }

  #register(track: TrackName, producer: types.Producer<ProducerAppData>): types.Producer<ProducerAppData> {
    this.closeProducer(track);
    this.#producers.set(track, producer);
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    producer.observer.once('close', () => this.#onProducerClosed(track, producer));
    this.emit('producer', track, producer);
    this.#watchFlow();
    return producer;
  }

  closeProducer(track: TrackName): void {
    // close() triggers the observer, which forgets the producer and emits producerClosed.
    this.#producers.get(track)?.close();
  }

  #onProducerClosed(track: TrackName, producer: types.Producer<ProducerAppData>): void {
    if (this.#producers.get(track) !== producer) return;
    this.#producers.delete(track);
    this.emit('producerClosed', track, producer);
    this.#armIdleTimer();
  }

  async consume(
    transport: types.WebRtcTransport<TransportAppData>,
    track: TrackName,
    rtpCapabilities: types.RtpCapabilities,
  ): Promise<types.Consumer<{ track: TrackName }>> {
    this.#assertOpen();
    if (transport.appData.direction !== 'recv') throw new AppError('forbidden', 'media can only be consumed on a receive transport');
    const producer = this.#producers.get(track);
    if (!producer) throw new AppError('not_found', `the candidate is not publishing ${track}`);
    if (!this.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
      throw new AppError('invalid_input', `these RTP capabilities cannot receive ${track}`, 'rtpCapabilities');
    }
    // Paused until the client has its consumer ready, so the keyframe requested on resume is not lost.
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true, appData: { track } });
    if (transport.closed || producer.closed) {
      consumer.close();
      throw new AppError(transport.closed ? 'conflict' : 'not_found', transport.closed ? 'the connection closed while consuming' : `the candidate stopped publishing ${track}`);
    }
    return consumer;
  }

  /**
   * Polls the worker's counters until every track has received RTP: a producer exists as soon as
   * the candidate's offer is accepted, media arrives only after ICE and DTLS complete.
   */
  #watchFlow(): void {
    clearTimeout(this.#flowTimer);
    if (this.#closed || this.tracks.length !== TRACK_NAMES.length) return;
    const deadline = Date.now() + this.#flowDeadlineMs;
    const generations = TRACK_NAMES.map((track) => this.#producers.get(track));
    const poll = async (): Promise<void> => {
      this.#flowTimer = undefined;
      const current = TRACK_NAMES.map((track) => this.#producers.get(track));
      if (this.#closed || current.some((producer, index) => producer !== generations[index])) return;
      try {
        const counts = await Promise.all(current.map(async (producer) => (await producer!.getStats()).reduce((sum, stat) => sum + stat.packetCount, 0)));
        if (counts.every((count) => count > 0)) {
          if (!this.#closed) this.emit('flowing');
          return;
        }
      } catch (error) {
        // A producer closed mid-poll: its replacement restarts the watch.
        this.#logger.debug({ err: error }, 'flow poll failed');
        return;
      }
      if (Date.now() > deadline) {
        this.#logger.warn({ deadlineMs: this.#flowDeadlineMs }, 'producers exist but not all of them receive RTP');
        return;
      }
      this.#flowTimer = setTimeout(() => void poll(), FLOW_POLL_MS);
      this.#flowTimer.unref();
    };
    void poll();
  }

  close(reason: RoomCloseReason = 'shutdown'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#flowTimer);
    // Producers first, so listeners (the recorder) see each track end before the room goes.
    for (const track of TRACK_NAMES) this.#producers.get(track)?.close();
    this.router.close();
    this.#logger.info({ reason }, 'interview room closed');
    this.emit('closed', reason);
  }
}
