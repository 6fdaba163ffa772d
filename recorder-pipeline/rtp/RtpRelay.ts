import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIPv4 } from 'node:net';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { isVideoTrack, type TrackName } from '../tracks.ts';
import { encodeSenderReport, senderReports } from './rtcpSenderReport.ts';
import { isRtpVersion2, looksLikeRtcp, payloadEnd, payloadStart, sequenceNumber, setSequenceNumber, setSsrc, setTimestamp, ssrc, timestamp } from './rtpPacket.ts';
import { FrameGate, type FrameGateStats, type VideoCodec } from './FrameGate.ts';
import { StreamContinuity } from './StreamContinuity.ts';
import { isVp8KeyFrameStart } from './vp8PayloadDescriptor.ts';
import { isVp9KeyFrameStart, toNonFlexibleVp9InPlace, vp9KeyFrameSizeAt } from './vp9PayloadDescriptor.ts';

export type RelayCodec = VideoCodec | 'opus';

interface RelayTrackOptions {
  track: TrackName;
  clockRate: number;
}

/** Where and how a track leaves the relay; set once its codec is known and again per ffmpeg run. */
export interface RelayRoute {
  codec: RelayCodec;
  /** The payload type ffmpeg's SDP announces for this track. */
  payloadType: number;
  /** Where ffmpeg listens for this track's RTP; its RTCP goes to port + 1. */
  targetPort: number;
}

export interface RtpRelayOptions {
  tracks: RelayTrackOptions[];
  logger: Logger;
  /** Loopback by default: mediasoup, the relay and ffmpeg run on one machine. */
  ip?: string;
  /** Asks the sender of a video track for a key frame (a frame was lost; see FrameGate). */
  requestKeyFrame?: (track: TrackName) => void;
  /** The most a video frame with a missing packet waits for its repair (see FrameGate). */
  repairWaitMs?: number;
}

export interface RelayEndpoint {
  ip: string;
  port: number;
  rtcpPort: number;
}

export interface RelayTrackStats {
  packetsReceived: number;
  packetsForwarded: number;
  bytesForwarded: number;
  /**
   * Dropped: unknown or retired SSRC, malformed, held back while ffmpeg was not listening, or (video)
   * part of a frame the frame gate did not let through.
   */
  packetsDropped: number;
  senderReportsForwarded: number;
  descriptorsRewritten: number;
  generations: number;
  /** Video tracks: what the frame gate let through, gave up and asked for. */
  frames?: FrameGateStats;
}

export type RtpRelayEvents = {
  /** The first packet of a new producer generation arrived, `gapMs` after the previous one's last. */
  generation: [info: { track: TrackName; generation: number; gapMs: number }];
  /**
   * The current generation's packets stopped for `gapMs` (≥ STALL_MS) and came back: the sender
   * lost its network for a while but kept its producer. Its RTP timestamps carry the real pause,
   * so the recording keeps the gap in its timeline.
   */
  stalled: [info: { track: TrackName; gapMs: number }];
  /** Every track is flowing to ffmpeg since the last openOutput(). */
  outputStarted: [info: { keyFramesOnly: boolean; waitedMs: number; startedAtMs: number }];
  /** A VP9 screen key frame of another size than the last one came in (read from its first packet). */
  frameSize: [info: { track: TrackName; width: number; height: number }];
};

interface TrackState {
  options: RelayTrackOptions;
  route: RelayRoute | undefined;
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  continuity: StreamContinuity;
  /**
   * Video only, once its codec is known: whole frames leave in order, numbered from
   * `nextSequenceNumber` without gaps.
   */
  gate: FrameGate | undefined;
  nextSequenceNumber: number;
  /** Forwarding to the current ffmpeg has begun (on a key frame, or at the wait deadline). */
  started: boolean;
  startedOnKeyFrame: boolean;
  /** When the first packet forwarded to the current ffmpeg arrived. */
  startedAtMs: number;
  /**
   * Audio that arrived while the video had not started yet (see #send), oldest first: a video
   * frame held for a repair starts the video late, and the audio from its arrival on still belongs
   * in the file.
   */
  backlog: Array<{ packet: Buffer; payloadStart: number; arrivalMs: number }>;
  /** The current generation's latest Sender Report, already rewritten for ffmpeg. */
  lastSenderReport: Uint8Array | undefined;
  /** Arrival of the current generation's latest packet (undefined until its first). */
  lastArrivalMs: number | undefined;
  /** The last key frame size seen on this track (`WxH`), for frameSize. */
  frameSize?: string | undefined;
  /** The latest packet sent to ffmpeg (as sent), for nudge(). */
  lastForwarded: Buffer | undefined;
  /**
   * A socket connected to the route's RTP port, once connecting has finished (undefined until
   * then, and after the route changed until the new one is connected: packets then leave from
   * `rtp`). See #connectOutput.
   */
  output: dgram.Socket | undefined;
  /** The socket being connected or connected, and the port it is for. */
  pendingOutput: { socket: dgram.Socket; port: number } | undefined;
  stats: RelayTrackStats;
}

/** A pause in one generation's packets at least this long is reported as `stalled`. */
const STALL_MS = 1500;
/**
 * ffmpeg 5.1's RTP input gives up ("Connection timed out", exit 0) after 10 s without a packet on
 * any of its sockets. While a track sends nothing (the candidate's network is down, a reload takes
 * long), its latest Sender Report is sent again this often: it keeps ffmpeg reading, so the pause
 * stays in the segment's timeline instead of ending the segment. Repeating an SR changes nothing
 * in ffmpeg's clock mapping.
 */
const KEEPALIVE_MS = 1000;
/** One 20 ms Opus frame at 48 kHz (what a nudge advances the audio by). */
const OPUS_FRAME_SAMPLES = 960;
/** A nudge goes out only after this long without any packet to ffmpeg, and at most this often. */
const NUDGE_AFTER_IDLE_MS = 100;
const MAX_NUDGES = 3;
/** Audio kept while the video has not started (2 s of 20 ms Opus frames); older is dropped. */
const AUDIO_BACKLOG_PACKETS = 100;
/**
 * The most a video frame with a hole is held for its NACK repair (the gate learns a shorter wait
 * from the repairs it sees): a few repair rounds at a few hundred ms RTT.
 */
const DEFAULT_REPAIR_WAIT_MS = 1000;
/** After a lost frame, how long the gate waits for a key frame before going on without one. */
const GATE_KEY_FRAME_WAIT_MS = 3000;

/**
 * UDP between each mediasoup PlainTransport and ffmpeg's RTP/RTCP ports, one socket pair per
 * track. It exists for two measured ffmpeg 5.1 problems: Chromium's flexible-mode VP9 descriptor
 * (rewritten to non-flexible) and producer re-publication (each track leaves here as one
 * continuous stream; see StreamContinuity). It also holds output while ffmpeg restarts and, when
 * a new ffmpeg starts listening, starts each video track on a key frame and the audio together
 * with the video, so every segment's files begin decodable and with audio and video aligned.
 */
export class RtpRelay extends EventEmitter<RtpRelayEvents> {
  readonly #tracks: Map<TrackName, TrackState>;
  readonly #ip: string;
  readonly #logger: Logger;
  readonly #requestKeyFrame: (track: TrackName) => void;
  readonly #repairWaitMs: number;
  #open = false;
  #openedAt = 0;
  #keyFrameWaitMs = 0;
  #videoWaitMs = 0;
  /** mediasoup's SR clock (NTP, in ms) minus ours, from the latest SR of any track. */
  #ntpOffsetMs: number | undefined;
  #outputStarted = false;
  /** See cut(): media that began to arrive from then on is dropped. */
  #cutAtMs: number | undefined;
  /** Nudges sent to the current ffmpeg (see nudge()). */
  #nudges = 0;
  #closed = false;
  readonly #keepalive: NodeJS.Timeout;
  /** When anything (RTP or RTCP) was last sent to ffmpeg. */
  #lastSentMs = 0;

  private constructor(tracks: Map<TrackName, TrackState>, options: RtpRelayOptions & { ip: string }) {
    super();
    this.#tracks = tracks;
    this.#ip = options.ip;
    this.#logger = options.logger;
    this.#requestKeyFrame = options.requestKeyFrame ?? (() => {});
    this.#repairWaitMs = options.repairWaitMs ?? DEFAULT_REPAIR_WAIT_MS;
    this.#keepalive = setInterval(() => this.#keepAlive(), KEEPALIVE_MS);
    this.#keepalive.unref();
  }

  #keepAlive(): void {
    if (!this.#open || Date.now() - this.#lastSentMs < KEEPALIVE_MS) return;
    for (const state of this.#tracks.values()) {
      if (state.route && state.lastSenderReport) this.#sendSenderReport(state, state.route, state.lastSenderReport);
    }
  }

  static async create(options: RtpRelayOptions): Promise<RtpRelay> {
    const ip = options.ip ?? '127.0.0.1';
    const tracks = new Map<TrackName, TrackState>();
    try {
      for (const trackOptions of options.tracks) {
        const [rtp, rtcp] = await Promise.all([bindSocket(ip), bindSocket(ip)]);
        tracks.set(trackOptions.track, {
          options: trackOptions,
          route: undefined,
          rtp,
          rtcp,
          continuity: new StreamContinuity({ clockRate: trackOptions.clockRate, outputSsrc: randomInt(1, 0xffffffff) }),
          gate: undefined,
          nextSequenceNumber: randomInt(0, 0x10000),
          started: false,
          startedOnKeyFrame: false,
          startedAtMs: 0,
          backlog: [],
          lastSenderReport: undefined,
          lastArrivalMs: undefined,
          lastForwarded: undefined,
          output: undefined,
          pendingOutput: undefined,
          stats: { packetsReceived: 0, packetsForwarded: 0, bytesForwarded: 0, packetsDropped: 0, senderReportsForwarded: 0, descriptorsRewritten: 0, generations: 0 },
        });
      }
    } catch (error) {
      for (const state of tracks.values()) closeSockets(state);
      throw error;
    }
    const relay = new RtpRelay(tracks, { ...options, ip });
    for (const state of tracks.values()) {
      state.rtp.on('message', (message) => relay.#onRtp(state, message));
      state.rtcp.on('message', (message) => relay.#onRtcp(state, message));
      for (const socket of [state.rtp, state.rtcp]) {
        socket.on('error', (error) => relay.#logger.warn({ err: error, track: state.options.track }, 'relay socket error'));
      }
    }
    return relay;
  }

  /** Where the track's PlainTransport must send (transport.connect). */
  endpoint(track: TrackName): RelayEndpoint {
    const state = this.#state(track);
    return { ip: this.#ip, port: (state.rtp.address() as { port: number }).port, rtcpPort: (state.rtcp.address() as { port: number }).port };
  }

  route(track: TrackName, route: RelayRoute): void {
    const state = this.#state(track);
    state.route = { ...route };
    if (route.codec !== 'opus' && !state.gate) {
      state.gate = new FrameGate({
        codec: route.codec,
        maxRepairWaitMs: this.#repairWaitMs,
        keyFrameWaitMs: GATE_KEY_FRAME_WAIT_MS,
        forward: (packet, payloadStart, arrivalMs, frameArrivalMs) => this.#send(state, packet, payloadStart, arrivalMs, frameArrivalMs),
        requestKeyFrame: () => this.#requestKeyFrame(track),
      });
    }
    this.#connectOutput(state, route.targetPort);
  }

  /**
   * A send on a connected UDP socket skips dgram's destination handling and the kernel's route
   * lookup for every packet. The receiving socket cannot be the one connected (a connected socket
   * only receives from its peer, and mediasoup is not ffmpeg), so each track sends its RTP from a
   * socket of its own: a fresh one per route (per ffmpeg run), so an ICMP error left over from an
   * ffmpeg that exited cannot fail the first send to the next one, even on the same port.
   */
  #connectOutput(state: TrackState, port: number): void {
    const previous = state.pendingOutput;
    state.output = undefined;
    state.pendingOutput = undefined;
    if (previous) closeSocket(previous.socket);
    if (this.#closed) return;
    const socket = dgram.createSocket({ type: 'udp4', lookup: lookupLiteral });
    const pending = { socket, port };
    state.pendingOutput = pending;
    const current = () => state.pendingOutput === pending && !this.#closed;
    // ECONNREFUSED while ffmpeg is not (yet, or any more) listening, or a failed bind/connect:
    // packets then keep leaving from the receiving socket, and the relay holds its output around
    // ffmpeg restarts anyway.
    socket.on('error', (error) => this.#logger.debug({ err: error, track: state.options.track }, 'relay output socket error'));
    socket.bind(0, this.#ip, () => {
      if (!current()) return;
      try {
        socket.connect(port, this.#ip, () => {
          if (current()) state.output = socket;
        });
      } catch (error) {
        this.#logger.debug({ err: error, track: state.options.track }, 'relay output socket not connected');
      }
    });
  }

  /** Packets with this SSRC are now the track; earlier generations' stragglers are dropped. */
  beginGeneration(track: TrackName, inputSsrc: number): void {
    const state = this.#state(track);
    state.continuity.beginGeneration(inputSsrc);
    state.gate?.reset();
    state.lastSenderReport = undefined;
    state.lastArrivalMs = undefined;
    state.stats.generations = state.continuity.generations;
  }

  /**
   * Sends ffmpeg one more audio packet: a copy of the latest one, 20 ms later. ffmpeg acts on a
   * stop request (`q`, SIGINT) only when a packet returns from its read, and at the end of an
   * interview the candidate's media may already have stopped; without a packet only a second
   * SIGINT ends it, and that one also interrupts its output, losing the file's last cluster.
   * Only when nothing was sent lately (real packets wake ffmpeg as well, and a nudge among them
   * would take a real packet's sequence number), and a few times at most: each one repeats 20 ms
   * of the last audio at the very end of the file.
   */
  nudge(): void {
    const state = this.#tracks.get('audio');
    const last = state?.lastForwarded;
    if (!state?.route || !last || !this.#open || this.#closed) return;
    if (Date.now() - this.#lastSentMs < NUDGE_AFTER_IDLE_MS || this.#nudges >= MAX_NUDGES) return;
    this.#nudges++;
    this.#lastSentMs = Date.now();
    const next = Buffer.from(last);
    setSequenceNumber(next, (sequenceNumber(last) + 1) & 0xffff);
    setTimestamp(next, (timestamp(last) + OPUS_FRAME_SAMPLES) >>> 0);
    state.rtp.send(next, state.route.targetPort, this.#ip);
    state.lastForwarded = next;
  }

  /**
   * The recording ends at `atMs`: media that began to arrive from then on never reaches ffmpeg,
   * only the nudges that make it notice its stop. On a saturated machine ffmpeg took seconds to
   * stop (5.6 s with 30 ending at once), and what came meanwhile went into the files past the end.
   * A video frame that began before it still goes once whole (its repair may come later), or the
   * video would end up to a key-frame interval before the audio. A later cut keeps the first.
   */
  cut(atMs = Date.now()): void {
    this.#cutAtMs ??= atMs;
  }

  /** The cut is taken back (the end it was for could not be stored): media flows again as after openOutput. */
  uncut(options: { keyFrameWaitMs: number; videoWaitMs: number }): void {
    this.#cutAtMs = undefined;
    // Frames were dropped: a video track starts again from a key frame, not from a frame that refers to them.
    if (this.#open) this.openOutput(options);
  }

  /** Stop sending to ffmpeg (it is not listening); continuity keeps counting. */
  holdOutput(): void {
    this.#open = false;
  }

  /**
   * Start sending to a freshly listening ffmpeg: each video track from its next key frame (or from
   * the next frame start once `keyFrameWaitMs` has passed, so a sender that ignores key frame
   * requests cannot hold the recording back), the audio from the first video's start, so both
   * files begin together (see #releaseAudioBacklog). The audio waits at most `videoWaitMs`: video
   * that sends nothing (paused, gone) must not silence the recording.
   */
  openOutput({ keyFrameWaitMs, videoWaitMs }: { keyFrameWaitMs: number; videoWaitMs: number }): void {
    this.#open = true;
    this.#openedAt = Date.now();
    this.#keyFrameWaitMs = keyFrameWaitMs;
    this.#videoWaitMs = videoWaitMs;
    this.#outputStarted = false;
    this.#nudges = 0;
    for (const state of this.#tracks.values()) {
      state.started = false;
      state.startedOnKeyFrame = false;
      state.backlog = [];
      state.lastForwarded = undefined;
      // ffmpeg times a stream by its own first packet until that stream's first SR arrives, then
      // by the SR's wall clock. A fresh ffmpeg that has every stream's SR before any packet times
      // all streams by the wall clock from the start, whichever track starts first.
      if (state.lastSenderReport && state.route) this.#sendSenderReport(state, state.route, state.lastSenderReport);
    }
  }

  stats(): Record<TrackName, RelayTrackStats> {
    const result = {} as Record<TrackName, RelayTrackStats>;
    for (const [track, state] of this.#tracks) {
      const gate = state.gate?.stats;
      result[track] = gate ? { ...state.stats, packetsDropped: state.stats.packetsDropped + gate.packetsDropped, frames: { ...gate } } : { ...state.stats };
    }
    return result;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#open = false;
    clearInterval(this.#keepalive);
    for (const state of this.#tracks.values()) {
      state.gate?.close();
      closeSockets(state);
    }
  }

  #state(track: TrackName): TrackState {
    const state = this.#tracks.get(track);
    if (!state) throw new Error(`the relay has no track ${track}`);
    return state;
  }

  /**
   * The per-packet path, kept free of allocations of its own: the datagram node handed us is
   * rewritten in place (header fields, VP9 descriptor) and sent as is, or as a view of it when the
   * descriptor shrank or padding is left behind.
   */
  #onRtp(state: TrackState, message: Buffer): void {
    const stats = state.stats;
    stats.packetsReceived++;
    if (!isRtpVersion2(message) || looksLikeRtcp(message)) {
      stats.packetsDropped++;
      return;
    }
    const arrivalMs = Date.now();
    const continuity = state.continuity;
    if (!continuity.mapPacket(ssrc(message), sequenceNumber(message), timestamp(message), arrivalMs)) {
      stats.packetsDropped++;
      return;
    }
    const outputSequenceNumber = continuity.mappedSequenceNumber;
    const outputTimestamp = continuity.mappedTimestamp;
    const gapMs = continuity.mappedGapMs;
    if (gapMs !== undefined) {
      this.#logger.info({ track: state.options.track, gapMs, generation: continuity.generations }, 'new producer generation joined the stream');
      this.emit('generation', { track: state.options.track, generation: continuity.generations, gapMs });
    } else if (state.lastArrivalMs !== undefined && arrivalMs - state.lastArrivalMs >= STALL_MS) {
      const stallMs = arrivalMs - state.lastArrivalMs;
      this.#logger.info({ track: state.options.track, gapMs: stallMs }, 'packets resumed after a pause');
      this.emit('stalled', { track: state.options.track, gapMs: stallMs });
    }
    state.lastArrivalMs = arrivalMs;
    const route = state.route;
    const start = payloadStart(message);
    const end = start < 0 ? -1 : payloadEnd(message);
    if (!route || start < 0 || start > end) {
      stats.packetsDropped++;
      return;
    }
    // After a descriptor rewrite the datagram starts `shift` bytes later (see toNonFlexibleVp9InPlace).
    let shift = 0;
    if (route.codec === 'VP9' && end > start) {
      const firstByte = message[start];
      shift = toNonFlexibleVp9InPlace(message, start, end);
      if (shift < 0) {
        stats.packetsDropped++;
        return;
      }
      if (message[start + shift] !== firstByte) stats.descriptorsRewritten++;
    }
    const out = shift === 0 && end === message.length ? message : message.subarray(shift, end);
    // The screen's size, from each key frame's first packet (a bit test for every other packet).
    if (route.codec === 'VP9' && state.options.track === 'screen' && out[start]! & 0x08) {
      const size = vp9KeyFrameSizeAt(out, start, out.length);
      if (size && `${size.width}x${size.height}` !== state.frameSize) {
        state.frameSize = `${size.width}x${size.height}`;
        this.emit('frameSize', { track: state.options.track, ...size });
      }
    }
    out[0] = out[0]! & ~0x20; // padding, if any, was left behind
    out[1] = (out[1]! & 0x80) | route.payloadType;
    setSequenceNumber(out, outputSequenceNumber);
    setTimestamp(out, outputTimestamp);
    setSsrc(out, continuity.outputSsrc);
    // The payload starts where it did: the header moved forward with the descriptor's dropped bytes.
    if (state.gate) state.gate.push(out, outputSequenceNumber, start, arrivalMs);
    else this.#send(state, out, start, arrivalMs);
  }

  /**
   * The last step of every packet: the output gates, then the wire (see openOutput). `arrivalMs`
   * is when the packet came, which for video held by the frame gate is earlier than now.
   */
  #send(state: TrackState, out: Buffer, payloadStart: number, arrivalMs: number, frameArrivalMs = arrivalMs): void {
    const stats = state.stats;
    const route = state.route;
    if (!route || !this.#open || (this.#cutAtMs !== undefined && frameArrivalMs >= this.#cutAtMs)) {
      stats.packetsDropped++;
      return;
    }
    if (!state.started && !this.#admit(state, route, out.subarray(payloadStart), arrivalMs, timestamp(out))) {
      if (state.gate) {
        stats.packetsDropped++;
        return;
      }
      state.backlog.push({ packet: out, payloadStart, arrivalMs });
      if (state.backlog.length > AUDIO_BACKLOG_PACKETS) {
        state.backlog.shift();
        stats.packetsDropped++;
      }
      return;
    }
    const nowMs = arrivalMs;
    if (state.gate) {
      setSequenceNumber(out, state.nextSequenceNumber);
      state.nextSequenceNumber = (state.nextSequenceNumber + 1) & 0xffff;
    }
    if (state.output) state.output.send(out);
    else state.rtp.send(out, route.targetPort, this.#ip);
    state.lastForwarded = out;
    // Same instant as far as the keep-alive and nudge (ms, ≥ 100 ms) can tell: no second clock read.
    this.#lastSentMs = nowMs;
    stats.packetsForwarded++;
    stats.bytesForwarded += out.length;
  }

  /** The per-segment start gate (see openOutput). */
  #admit(state: TrackState, route: RelayRoute, payload: Uint8Array, nowMs: number, outputTimestamp: number): boolean {
    if (state.started) return true;
    const codec = route.codec;
    const waitedMs = nowMs - this.#openedAt;
    if (isVideoTrack(state.options.track)) {
      const keyFrame = codec === 'VP9' ? isVp9KeyFrameStart(payload) : isVp8KeyFrameStart(payload);
      if (!keyFrame && !(waitedMs >= this.#keyFrameWaitMs && isFrameStart(codec, payload))) return false;
      state.startedOnKeyFrame = keyFrame;
    } else {
      if (this.#firstVideoStartMs() === undefined && this.#hasVideo() && waitedMs < this.#videoWaitMs) return false;
      // Starting alone (no video within the wait): what was held is older than this packet.
      state.stats.packetsDropped += state.backlog.length;
      state.backlog = [];
    }
    state.started = true;
    state.startedAtMs = nowMs;
    this.#primeSenderReport(state, route, nowMs, outputTimestamp);
    if (!this.#outputStarted && [...this.#tracks.values()].every((other) => other.started)) {
      this.#outputStarted = true;
      const keyFramesOnly = [...this.#tracks.values()].every((other) => !isVideoTrack(other.options.track) || other.startedOnKeyFrame);
      // The segment's files begin with the first track that started (their time 0).
      const startedAtMs = Math.min(...[...this.#tracks.values()].map((other) => other.startedAtMs ?? nowMs));
      this.emit('outputStarted', { keyFramesOnly, waitedMs: nowMs - this.#openedAt, startedAtMs });
    }
    if (isVideoTrack(state.options.track)) this.#releaseAudioBacklog();
    return true;
  }

  /**
   * Once the first video track has started, the audio held meanwhile goes out from the first
   * packet that arrived with or after that start; what came before is dropped. So both files
   * begin at the same instant, the segment's time 0: screen.webm and candidate.webm each hold the
   * audio from there, and the video that started later begins later inside its file. (Held until
   * the latest video instead, the file whose video came first began earlier than the other, and
   * every player and time shared by the two files was off by the difference: 1.2 s seen in CI,
   * with a screen that sent no frame for a second after the recorder started.)
   */
  #releaseAudioBacklog(): void {
    const videoStartMs = this.#firstVideoStartMs();
    if (videoStartMs === undefined) return;
    for (const state of this.#tracks.values()) {
      if (state.gate || state.backlog.length === 0) continue;
      const backlog = state.backlog;
      state.backlog = [];
      for (const entry of backlog) {
        if (entry.arrivalMs < videoStartMs) state.stats.packetsDropped++;
        else this.#send(state, entry.packet, entry.payloadStart, entry.arrivalMs);
      }
    }
  }

  #hasVideo(): boolean {
    return [...this.#tracks.values()].some((other) => isVideoTrack(other.options.track));
  }

  /** When the segment's first video track started; undefined before any did. */
  #firstVideoStartMs(): number | undefined {
    const starts = [...this.#tracks.values()].filter((other) => isVideoTrack(other.options.track) && other.started).map((video) => video.startedAtMs);
    return starts.length === 0 ? undefined : Math.min(...starts);
  }

  /**
   * Before a track's first packet reaches ffmpeg, make sure ffmpeg has an SR for it: otherwise it
   * times that stream from its own first packet, and a track that starts later than the others
   * (a camera whose key frame comes late) would be shifted against them. mediasoup sends a
   * consumer's first SR only some time after its first packet, so when none is cached one is
   * made the way mediasoup makes them: its clock now (ours plus the offset seen in any SR) and
   * this packet's timestamp.
   */
  #primeSenderReport(state: TrackState, route: RelayRoute, nowMs: number, outputTimestamp: number): void {
    if (state.lastSenderReport) {
      this.#sendSenderReport(state, route, state.lastSenderReport);
    } else if (this.#ntpOffsetMs !== undefined) {
      const report = encodeSenderReport({ ssrc: state.continuity.outputSsrc, ntpTime: msToNtp(nowMs + this.#ntpOffsetMs), rtpTimestamp: outputTimestamp, packetCount: 0, octetCount: 0 });
      this.#sendSenderReport(state, route, report);
    }
  }

  #onRtcp(state: TrackState, message: Buffer): void {
    for (const report of senderReports(message)) {
      this.#ntpOffsetMs = ntpToMs(report.ntpTime) - Date.now();
      const rtpTimestamp = state.continuity.mapSenderReportTimestamp(report.ssrc, report.rtpTimestamp);
      if (rtpTimestamp === undefined) continue;
      state.lastSenderReport = encodeSenderReport({ ...report, ssrc: state.continuity.outputSsrc, rtpTimestamp });
      if (this.#open && state.route) this.#sendSenderReport(state, state.route, state.lastSenderReport);
    }
  }

  #sendSenderReport(state: TrackState, route: RelayRoute, report: Uint8Array): void {
    state.rtcp.send(report, route.targetPort + 1, this.#ip);
    this.#lastSentMs = Date.now();
    state.stats.senderReportsForwarded++;
  }
}

function ntpToMs(ntp: bigint): number {
  return Number(ntp >> 32n) * 1000 + (Number(ntp & 0xffffffffn) * 1000) / 2 ** 32;
}

function msToNtp(ms: number): bigint {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds) << 32n) | BigInt(fraction);
}

function isFrameStart(codec: RelayCodec, payload: Uint8Array): boolean {
  const first = payload[0];
  if (first === undefined) return false;
  return codec === 'VP9' ? (first & 0x08) !== 0 : (first & 0x10) !== 0 && (first & 0x07) === 0;
}

/**
 * dgram resolves the destination of every send(), even an IP address, through dns.lookup, which
 * validates its arguments and answers on the next tick: per packet, an extra trip through the
 * tick queue before the datagram leaves. Every address the relay sends to is an IP literal, so it
 * answers at once; anything else still goes to the resolver.
 */
function lookupLiteral(hostname: string, _options: dns.LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (isIPv4(hostname)) callback(null, hostname, 4);
  else dns.lookup(hostname, { family: 4 }, callback);
}

async function bindSocket(ip: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', lookup: lookupLiteral });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, ip, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // Video keyframes arrive as bursts of packets; the default buffer can overflow under load.
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // Capped by net.core.rmem_max; the default still works on loopback.
  }
  return socket;
}

function closeSockets(state: Pick<TrackState, 'rtp' | 'rtcp' | 'pendingOutput'>): void {
  for (const socket of [state.rtp, state.rtcp, state.pendingOutput?.socket]) if (socket) closeSocket(socket);
}

function closeSocket(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed.
  }
}
