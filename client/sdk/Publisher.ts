import { Device, type types } from 'mediasoup-client';
import type { JoinResult, ScreenSource, TrackName } from '../../shared/protocol.ts';
import { withDeadline } from '../shared/deadline.ts';
import type { SignalingClient } from '../shared/SignalingClient.ts';
import type { MediaConnectionState } from './CandidateSession.ts';

/** A sender's setParameters() may be slow to settle on a busy encoder; it is a preference, not a step to wait on. */
const SENDER_PARAMETERS_DEADLINE_MS = 2000;

/**
 * When the uplink is short, what to give up: the screen keeps its resolution (text stays legible,
 * the frame rate drops), the camera keeps its frame rate (the picture shrinks). Best effort: a
 * browser without degradationPreference keeps its own default.
 */
async function preferDegradation(producer: types.Producer, preference: RTCDegradationPreference): Promise<void> {
  const sender = producer.rtpSender;
  if (!sender) return;
  try {
    const parameters = sender.getParameters() as RTCRtpSendParameters & { degradationPreference?: RTCDegradationPreference };
    parameters.degradationPreference = preference;
    await withDeadline(sender.setParameters(parameters), SENDER_PARAMETERS_DEADLINE_MS, 'setting the sender parameters');
  } catch {
    // Unsupported (or too slow): the browser's default stands.
  }
}

/**
 * The candidate's send side for one signalling session: one send transport and up to three
 * producers. A new session (after a reconnect) builds a new Publisher and publishes the same
 * tracks again; the server treats that as a new generation.
 */
export class Publisher {
  readonly #signaling: SignalingClient;
  readonly #join: JoinResult;
  readonly #device: Device;
  readonly #transport: types.Transport;
  readonly #producers = new Map<TrackName, types.Producer>();
  #closed = false;

  private constructor(signaling: SignalingClient, join: JoinResult, device: Device, transport: types.Transport) {
    this.#signaling = signaling;
    this.#join = join;
    this.#device = device;
    this.#transport = transport;
  }

  static async create(signaling: SignalingClient, join: JoinResult, onState: (state: MediaConnectionState) => void): Promise<Publisher> {
    const device = new Device();
    await device.load({ routerRtpCapabilities: join.routerRtpCapabilities });
    const info = await signaling.request('createTransport', { direction: 'send' });
    const transport = device.createSendTransport({ ...info, iceServers: join.ice.servers, iceTransportPolicy: join.ice.transportPolicy });
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      signaling
        .request('produce', {
          transportId: transport.id,
          track: appData.track as TrackName,
          kind,
          rtpParameters,
          ...(appData.screenSource ? { screenSource: appData.screenSource as ScreenSource } : {}),
        })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    transport.on('connectionstatechange', onState);
    return new Publisher(signaling, join, device, transport);
  }

  get connectionState(): MediaConnectionState {
    return this.#transport.connectionState;
  }

  get publishing(): TrackName[] {
    return [...this.#producers.keys()];
  }

  #videoCodec(): types.RtpCodecCapability | undefined {
    const codecs = this.#device.rtpCapabilities.codecs ?? [];
    // VP9 is what the recorder stores; VP8 only for a browser that cannot send VP9.
    return codecs.find((codec) => codec.mimeType.toLowerCase() === 'video/vp9') ?? codecs.find((codec) => codec.mimeType.toLowerCase() === 'video/vp8');
  }

  /**
   * Publishes (or republishes) a track; the previous producer of that track is replaced.
   * screenSource goes with the screen track, so the server stores what the page could tell.
   */
  async publish(track: TrackName, mediaTrack: MediaStreamTrack, screenSource?: ScreenSource): Promise<void> {
    if (this.#closed) return;
    this.#producers.get(track)?.close();
    this.#producers.delete(track);
    const bitrates = this.#join.publish?.bitrates;
    const options: types.ProducerOptions =
      track === 'audio'
        ? { track: mediaTrack, codecOptions: { opusStereo: false, opusDtx: false, opusFec: true }, appData: { track } }
        : {
            track: mediaTrack,
            codec: this.#videoCodec(),
            encodings: [{ maxBitrate: track === 'screen' ? bitrates?.screen : bitrates?.camera }],
            appData: track === 'screen' && screenSource ? { track, screenSource } : { track },
          };
    // The page owns the captured tracks (they outlive this session), so producers never stop them.
    const producer = await this.#transport.produce({ ...options, stopTracks: false });
    if (this.#closed) {
      producer.close();
      return;
    }
    this.#producers.set(track, producer);
    if (track !== 'audio') await preferDegradation(producer, track === 'screen' ? 'maintain-resolution' : 'maintain-framerate');
  }

  async unpublish(track: TrackName): Promise<void> {
    const producer = this.#producers.get(track);
    if (!producer) return;
    producer.close();
    this.#producers.delete(track);
    await this.#signaling.request('closeProducer', { track }).catch(() => undefined);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const producer of this.#producers.values()) producer.close();
    this.#producers.clear();
    this.#transport.close();
  }
}
