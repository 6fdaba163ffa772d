import { Device, type types } from 'mediasoup-client';
import type { JoinResult, TrackName } from '../../shared/protocol.ts';
import { RequestError, type SignalingClient } from '../shared/SignalingClient.ts';

export interface ViewerEvents {
  /** A track started (or restarted, for a new generation) — attach it to the page. */
  onTrack: (track: TrackName, mediaTrack: MediaStreamTrack) => void;
  onTrackEnded: (track: TrackName) => void;
  onState: (state: types.ConnectionState) => void;
}

/**
 * A proctor's receive side for one signalling session: one receive transport and a consumer per
 * published track, each resumed (with a keyframe request on the server) once it is attached.
 */
export class Viewer {
  readonly #signaling: SignalingClient;
  readonly #device: Device;
  readonly #transport: types.Transport;
  readonly #events: ViewerEvents;
  readonly #consumers = new Map<TrackName, types.Consumer>();
  // One consume per track at a time; a newer request for the same track wins.
  readonly #pending = new Map<TrackName, number>();
  // Consumers the server closed before this page had them in hand (the notice came first).
  readonly #closedByServer = new Set<string>();
  #closed = false;

  private constructor(signaling: SignalingClient, device: Device, transport: types.Transport, events: ViewerEvents) {
    this.#signaling = signaling;
    this.#device = device;
    this.#transport = transport;
    this.#events = events;
  }

  /** The device and the receive transport; the page then consumes the tracks it knows of. */
  static async create(signaling: SignalingClient, join: JoinResult, events: ViewerEvents): Promise<Viewer> {
    const device = new Device();
    await device.load({ routerRtpCapabilities: join.routerRtpCapabilities });
    const info = await signaling.request('createTransport', { direction: 'recv' });
    const transport = device.createRecvTransport({ ...info, iceServers: join.ice.servers, iceTransportPolicy: join.ice.transportPolicy });
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    transport.on('connectionstatechange', events.onState);
    return new Viewer(signaling, device, transport, events);
  }

  get transport(): types.Transport {
    return this.#transport;
  }

  async consume(track: TrackName): Promise<void> {
    if (this.#closed) return;
    const attempt = (this.#pending.get(track) ?? 0) + 1;
    this.#pending.set(track, attempt);
    const info = await this.#signaling.request('consume', { transportId: this.#transport.id, track, rtpCapabilities: this.#device.rtpCapabilities });
    if (this.#closed || this.#pending.get(track) !== attempt) return;
    performance.mark(`consumer-created-${track}`);
    const consumer = await this.#transport.consume({ id: info.id, producerId: info.producerId, kind: info.kind, rtpParameters: info.rtpParameters });
    if (this.#closed || this.#pending.get(track) !== attempt || this.#closedByServer.has(consumer.id)) {
      consumer.close();
      return;
    }
    this.#consumers.get(track)?.close();
    this.#consumers.set(track, consumer);
    this.#events.onTrack(track, consumer.track);
    try {
      await this.#signaling.request('resumeConsumer', { consumerId: consumer.id });
    } catch (error) {
      // Closed on the server in the meantime (its producer went away): not a consumer to show.
      if (error instanceof RequestError && error.code === 'not_found') this.dropConsumer(consumer.id, track);
      throw error;
    }
  }

  /** The server closed a consumer (its producer went away). */
  dropConsumer(consumerId: string, track: TrackName): void {
    const consumer = this.#consumers.get(track);
    if (!consumer || consumer.id !== consumerId) {
      this.#closedByServer.add(consumerId);
      return;
    }
    consumer.close();
    this.#consumers.delete(track);
    this.#events.onTrackEnded(track);
  }

  /** Receive-side numbers from the browser: frames, loss and round trip per track. */
  async localStats(): Promise<Map<TrackName, { framesPerSecond: number | null; packetsLost: number; packetsReceived: number; bytesReceived: number }> & { rttMs?: number }> {
    const result = new Map() as Awaited<ReturnType<Viewer['localStats']>>;
    for (const [track, consumer] of this.#consumers) {
      const report = await consumer.getStats();
      report.forEach((stat: { type: string; framesPerSecond?: number; packetsLost?: number; packetsReceived?: number; bytesReceived?: number }) => {
        if (stat.type !== 'inbound-rtp') return;
        result.set(track, {
          framesPerSecond: stat.framesPerSecond ?? null,
          packetsLost: stat.packetsLost ?? 0,
          packetsReceived: stat.packetsReceived ?? 0,
          bytesReceived: stat.bytesReceived ?? 0,
        });
      });
    }
    const transportReport = await this.#transport.getStats();
    transportReport.forEach((stat: { type: string; state?: string; nominated?: boolean; currentRoundTripTime?: number }) => {
      if (stat.type === 'candidate-pair' && stat.nominated && stat.currentRoundTripTime !== undefined) result.rttMs = stat.currentRoundTripTime * 1000;
    });
    return result;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const consumer of this.#consumers.values()) consumer.close();
    this.#consumers.clear();
    this.#transport.close();
  }
}
