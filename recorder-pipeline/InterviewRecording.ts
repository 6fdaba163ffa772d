import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { processUsage, type ProcessUsage } from './ffmpeg/processUsage.ts';
import type { FfmpegExit, FfmpegProcess } from './ffmpeg/FfmpegProcess.ts';
import { startRecorderProcess } from './ffmpeg/RecorderProcess.ts';
import { recordingConsumerCodec } from './consumerCodec.ts';
import { findFreeRtpPorts, type PortRange } from './ffmpeg/udpPorts.ts';
import { RtpRelay, type RelayCodec, type RelayTrackStats } from './rtp/RtpRelay.ts';
import { recordingSdp, sdpTrackFromRtpParameters } from './sdp/recordingSdp.ts';
import { nextSegmentIndex, segmentDir, segmentFile, writeSegmentMediaStart } from './segments.ts';
import { isVideoTrack, recordedFiles, trackNames, type RecordedFile, type TrackName } from './tracks.ts';

export interface InterviewRecordingOptions {
  router: types.Router;
  /** The recording's directory; segments go into it (after any already there). */
  outputDir: string;
  logger: Logger;
  /** Chromium sends no periodic key frames: ask for one this often so the files have seek points. */
  keyframeIntervalMs?: number;
  /**
   * How long a new segment waits for a key frame on each video track before it starts on an
   * ordinary frame. A browser answers a key frame request within a round trip; this only bounds
   * the loss when a sender ignores the request.
   */
  keyFrameWaitMs?: number;
  /**
   * How long a new segment's audio waits for the video to start (so both begin together) before it
   * starts alone: a camera that sends nothing must not silence the recording.
   */
  videoWaitMs?: number;
  /** Where the PlainTransports, the relay and ffmpeg talk: loopback. */
  ip?: string;
  /** mediasoup's RTC port range: ffmpeg's ports are chosen outside it (see findFreeRtpPorts). */
  rtcPortRange?: PortRange;
}

export type InterviewRecordingEvents = {
  /** ffmpeg listens and the consumers flow into `dir`. */
  segmentStarted: [info: { index: number; dir: string; pid: number }];
  /** Every track of the segment reached ffmpeg; `keyFramesOnly` is false when a video started on a delta frame. */
  mediaFlowing: [info: { index: number; waitedMs: number; keyFramesOnly: boolean; startedAtMs: number }];
  /** ffmpeg exited; `requested` is true only for stop(). Anything else is followed by a restart. */
  ffmpegExited: [info: { index: number; pid: number; code: number | null; signal: NodeJS.Signals | null; requested: boolean; stderrTail: string[] }];
  /** Media between two segments that was not recorded: from ffmpeg's exit until its successor listened. */
  gap: [info: { fromSegment: number; toSegment: number; gapMs: number }];
  /** A re-published producer joined its track; the relay bridged `gapMs` so ffmpeg saw no break. */
  generation: [info: { track: TrackName; generation: number; gapMs: number }];
  /** A track's packets paused for `gapMs` and resumed on the same producer (a network outage). */
  stalled: [info: { track: TrackName; gapMs: number }];
  /** The screen's key frames came in at another size (VP9 only). */
  frameSize: [info: { track: TrackName; width: number; height: number }];
  /** ffmpeg could not be (re)started; the recording retries with a backoff while it runs. */
  segmentFailed: [info: { index: number; error: Error }];
  stopped: [info: { segments: number[] }];
};

export interface InterviewRecordingStats {
  segments: number[];
  currentSegment: number | undefined;
  ffmpeg: { pid: number; usage: ProcessUsage | undefined } | undefined;
  /** Bytes on disk per deliverable, summed over this recording's segments. */
  bytesWritten: Record<RecordedFile, number>;
  relay: Record<TrackName, RelayTrackStats>;
  generations: Record<TrackName, number>;
}

interface TrackBinding {
  transport: types.PlainTransport;
  consumer: types.Consumer;
  codec: RelayCodec;
  generation: number;
}

const DEFAULT_KEYFRAME_INTERVAL_MS = 2000;
const DEFAULT_KEYFRAME_WAIT_MS = 300;
const DEFAULT_VIDEO_WAIT_MS = 3000;
/** An ffmpeg that dies sooner than this after starting is failing, not crashing once: back off. */
const HEALTHY_RUN_MS = 3000;

/**
 * The recording of one interview: three mediasoup producers (screen, camera, audio) in, two WebM
 * files (screen + audio, camera + audio) out, as a sequence of segments.
 *
 * Each track gets a PlainTransport and a paused consumer that send to the RtpRelay; one ffmpeg
 * reads all three from the relay (one SDP, one time base). ffmpeg starts once all three tracks
 * are attached; the consumers resume once it listens. When ffmpeg dies it is restarted at once
 * into the next segment while the relay keeps receiving; when a producer is re-published, the
 * relay splices the new generation into the same stream and the segment goes on.
 */
export class InterviewRecording extends EventEmitter<InterviewRecordingEvents> {
  readonly #router: types.Router;
  readonly #outputDir: string;
  readonly #logger: Logger;
  readonly #relay: RtpRelay;
  readonly #ip: string;
  readonly #rtcPortRange: PortRange | undefined;
  readonly #keyframeIntervalMs: number;
  readonly #keyFrameWaitMs: number;
  readonly #videoWaitMs: number;
  readonly #bindings = new Map<TrackName, TrackBinding>();
  readonly #segments: number[] = [];
  #nextIndex: number;
  #process: FfmpegProcess | undefined;
  #currentSegment: number | undefined;
  #segmentStarting: Promise<void> | undefined;
  #keyframeTimer: NodeJS.Timeout | undefined;
  /** Ends asked for and not yet stored (see cutNow). */
  #cuts = 0;
  #quickDeaths = 0;
  #stopping: Promise<void> | undefined;

  private constructor(options: Required<Omit<InterviewRecordingOptions, 'router' | 'logger' | 'outputDir' | 'rtcPortRange'>> & InterviewRecordingOptions, relay: RtpRelay, firstIndex: number) {
    super();
    this.#router = options.router;
    this.#outputDir = options.outputDir;
    this.#logger = options.logger;
    this.#relay = relay;
    this.#ip = options.ip;
    this.#rtcPortRange = options.rtcPortRange;
    this.#keyframeIntervalMs = options.keyframeIntervalMs;
    this.#keyFrameWaitMs = options.keyFrameWaitMs;
    this.#videoWaitMs = options.videoWaitMs;
    this.#nextIndex = firstIndex;
  }

  static async create(options: InterviewRecordingOptions): Promise<InterviewRecording> {
    const ip = options.ip ?? '127.0.0.1';
    await fs.mkdir(options.outputDir, { recursive: true });
    // A directory that already has segments (service restart) gets new ones after them.
    const firstIndex = await nextSegmentIndex(options.outputDir);
    // Set once the recording exists: the relay asks it for key frames (a video frame was lost).
    let requestKeyFrame: (track: TrackName) => void = () => {};
    const relay = await RtpRelay.create({
      tracks: trackNames.map((track) => ({ track, clockRate: isVideoTrack(track) ? 90000 : 48000 })),
      logger: options.logger,
      ip,
      requestKeyFrame: (track) => requestKeyFrame(track),
    });
    const recording = new InterviewRecording(
      { keyframeIntervalMs: DEFAULT_KEYFRAME_INTERVAL_MS, keyFrameWaitMs: DEFAULT_KEYFRAME_WAIT_MS, videoWaitMs: DEFAULT_VIDEO_WAIT_MS, ...options, ip },
      relay,
      firstIndex,
    );
    requestKeyFrame = (track) => recording.#requestKeyFrame(track);
    relay.on('generation', (info) => recording.emit('generation', info));
    relay.on('stalled', (info) => recording.emit('stalled', info));
    relay.on('frameSize', (info) => recording.emit('frameSize', info));
    relay.on('outputStarted', (info) => {
      if (recording.#currentSegment === undefined) return;
      options.logger.info({ index: recording.#currentSegment, ...info }, 'recording media flowing');
      const index = recording.#currentSegment;
      // Kept beside the segment's files (crash-safe): where its media begins on the wall clock, for the timeline's media times.
      void writeSegmentMediaStart(segmentDir(options.outputDir, index), new Date(info.startedAtMs)).catch((error: unknown) =>
        options.logger.warn({ err: error, index }, "could not store the segment's media start"),
      );
      recording.emit('mediaFlowing', { index, ...info });
    });
    return recording;
  }

  get outputDir(): string {
    return this.#outputDir;
  }

  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  /** The running ffmpeg's pid, undefined between segments. */
  get ffmpegPid(): number | undefined {
    return this.#process && !this.#process.hasExited ? this.#process.pid : undefined;
  }

  /**
   * Records `producer` as `track`. Called again for a track, the new producer becomes the track's
   * next generation: the previous consumer and transport are closed, and ffmpeg sees one stream.
   */
  async attachProducer(track: TrackName, producer: types.Producer): Promise<void> {
    if (this.#stopping) throw new Error('the recording is stopped');
    const expectedKind = isVideoTrack(track) ? 'video' : 'audio';
    if (producer.kind !== expectedKind) throw new Error(`${track} needs a ${expectedKind} producer, got ${producer.kind}`);
    const codec = recordingConsumerCodec(this.#router, track, producer);
    const relayCodec = relayCodecOf(codec.mimeType);
    const previous = this.#bindings.get(track);
    if (previous && previous.codec !== relayCodec) {
      // The running ffmpeg and every earlier segment hold the old codec: a WebM cannot switch.
      throw new Error(`${track} was recorded as ${previous.codec}; a ${relayCodec} producer cannot continue it`);
    }

    const transport = await this.#router.createPlainTransport({ listenIp: { ip: this.#ip }, rtcpMux: false, comedia: false, appData: { recording: this.#outputDir, track } });
    let consumer: types.Consumer;
    try {
      await transport.connect(this.#relay.endpoint(track));
      consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: { codecs: [codec], headerExtensions: [] },
        paused: true,
        appData: { track },
      });
    } catch (error) {
      transport.close();
      throw error;
    }
    if (this.#stopping) {
      transport.close();
      throw new Error('the recording is stopped');
    }
    const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
    if (ssrc === undefined) {
      transport.close();
      throw new Error(`${track}: the consumer has no SSRC`);
    }

    const binding: TrackBinding = { transport, consumer, codec: relayCodec, generation: (previous?.generation ?? 0) + 1 };
    this.#bindings.set(track, binding);
    this.#relay.beginGeneration(track, ssrc);
    previous?.transport.close();
    consumer.on('producerclose', () => this.#logger.info({ track, generation: binding.generation }, 'producer closed; the track waits for its next generation'));
    transport.on('routerclose', () => {
      // At an interview's end the room closes while the recording is already stopping: no news.
      if (this.stopped) return;
      this.#logger.warn('router closed under a running recording; stopping it');
      void this.stop();
    });
    this.#logger.info({ track, generation: binding.generation, codec: relayCodec, producerId: producer.id }, 'producer attached to the recording');

    if (this.#process && !this.#process.hasExited) {
      await this.#resume(consumer, track);
    } else if (!this.#segmentStarting && this.#currentSegment === undefined && trackNames.every((name) => this.#bindings.has(name))) {
      await this.#startSegment();
    } else {
      await this.#segmentStarting;
    }
  }

  /**
   * Nothing from now on reaches the files: the end was asked for now, and storing it can take
   * seconds on a busy machine (173 s with 40 ending at once, one SQLite connection), while the
   * media kept coming. stop() follows once the end is stored; if it could not be, the returned
   * undo lets the media through again, each video track from its next key frame.
   * The consumers are paused too, once frames begun before the cut had time to be repaired:
   * mediasoup stops sending what would only be dropped here, and a saturated machine gets that CPU
   * back for storing the ends (at 40 ending at once the relays went on receiving for 40 s, which
   * kept the machine saturated, which kept the ends waiting).
   */
  cutNow(): () => void {
    this.#relay.cut(Date.now());
    this.#cuts++;
    const pausing = setTimeout(() => {
      if (this.#cuts === 0) return;
      for (const { consumer } of this.#bindings.values()) {
        if (!consumer.closed && !consumer.paused) consumer.pause().catch(() => {}); // closing: nothing to pause
      }
    }, CUT_REPAIR_GRACE_MS);
    pausing.unref();
    let undone = false;
    return () => {
      if (undone) return;
      undone = true;
      clearTimeout(pausing);
      this.#cuts--;
      if (this.#cuts > 0 || this.#stopping) return;
      this.#relay.uncut({ keyFrameWaitMs: this.#keyFrameWaitMs, videoWaitMs: this.#videoWaitMs });
      for (const [track, { consumer }] of this.#bindings) void this.#resume(consumer, track);
    };
  }

  /** Stops ffmpeg gracefully (its files get trailers) and closes the transports. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** The relay's counters alone: no file system call, so it answers at once on a busy machine too. */
  get relayStats(): Record<TrackName, RelayTrackStats> {
    return this.#relay.stats();
  }

  async stats(): Promise<InterviewRecordingStats> {
    const bytesWritten = { screen: 0, candidate: 0 } as Record<RecordedFile, number>;
    for (const index of this.#segments) {
      for (const file of recordedFiles) {
        const stat = await fs.stat(segmentFile(segmentDir(this.#outputDir, index), file)).catch(() => undefined);
        bytesWritten[file] += stat?.size ?? 0;
      }
    }
    const pid = this.ffmpegPid;
    const generations = {} as Record<TrackName, number>;
    for (const track of trackNames) generations[track] = this.#bindings.get(track)?.generation ?? 0;
    return {
      segments: [...this.#segments],
      currentSegment: this.#currentSegment,
      ffmpeg: pid === undefined ? undefined : { pid, usage: await processUsage(pid) },
      bytesWritten,
      relay: this.#relay.stats(),
      generations,
    };
  }

  /** Starts ffmpeg into the next segment; retries (backing off) until it runs or stop() is called. */
  #startSegment(): Promise<void> {
    this.#segmentStarting ??= this.#runSegmentStart().finally(() => {
      this.#segmentStarting = undefined;
    });
    return this.#segmentStarting;
  }

  async #runSegmentStart(): Promise<void> {
    this.#relay.holdOutput();
    this.#currentSegment = undefined;
    for (let attempt = 0; !this.#stopping; attempt++) {
      // The first restart is immediate (that is the ≤ 1 s promise); repeated failures back off.
      const failures = Math.max(attempt, this.#quickDeaths - 1);
      const backoffMs = failures === 0 ? 0 : Math.min(5000, 250 * 2 ** (failures - 1));
      if (backoffMs > 0) await delay(backoffMs);
      if (this.#stopping) return;
      const index = this.#nextIndex++;
      const dir = segmentDir(this.#outputDir, index);
      try {
        await fs.mkdir(dir, { recursive: true });
        const ports = await findFreeRtpPorts(trackNames.length, this.#ip, this.#rtcPortRange);
        const sdpTracks = trackNames.map((track, position) => {
          const binding = this.#bindings.get(track)!;
          return sdpTrackFromRtpParameters(track, binding.consumer.rtpParameters, ports[position]!);
        });
        const sdpPath = path.join(dir, 'recording.sdp');
        await fs.writeFile(sdpPath, recordingSdp(sdpTracks, this.#ip));
        for (const sdpTrack of sdpTracks) {
          this.#relay.route(sdpTrack.track, { codec: this.#bindings.get(sdpTrack.track)!.codec, payloadType: sdpTrack.payloadType, targetPort: sdpTrack.port });
        }
        const recorder = await startRecorderProcess({
          sdpPath,
          screenPath: segmentFile(dir, 'screen'),
          candidatePath: segmentFile(dir, 'candidate'),
          rtpPorts: ports,
          logger: this.#logger,
        });
        if (this.#stopping) {
          await recorder.stop();
          this.#segments.push(index);
          return;
        }
        this.#process = recorder;
        this.#currentSegment = index;
        this.#segments.push(index);
        const startedAt = Date.now();
        void recorder.exited.then((exit) => this.#onExit(recorder, index, startedAt, exit));
        this.#relay.openOutput({ keyFrameWaitMs: this.#keyFrameWaitMs, videoWaitMs: this.#videoWaitMs });
        await Promise.all(trackNames.map((track) => this.#resume(this.#bindings.get(track)!.consumer, track)));
        this.#startKeyframeTimer();
        this.#logger.info({ index, dir, pid: recorder.pid }, 'recording segment started');
        this.emit('segmentStarted', { index, dir, pid: recorder.pid });
        return;
      } catch (error) {
        this.#logger.error({ err: error, index, attempt }, 'could not start ffmpeg for a recording segment');
        await fs.rm(dir, { recursive: true, force: true });
        this.emit('segmentFailed', { index, error: error as Error });
      }
    }
  }

  #onExit(recorder: FfmpegProcess, index: number, startedAt: number, exit: FfmpegExit): void {
    if (this.#process === recorder) {
      this.#process = undefined;
      this.#currentSegment = undefined;
    }
    this.emit('ffmpegExited', { index, pid: recorder.pid, code: exit.code, signal: exit.signal, requested: exit.requested, stderrTail: exit.stderrTail });
    if (exit.requested || this.#stopping) return;
    this.#logger.error({ index, pid: recorder.pid, code: exit.code, signal: exit.signal, stderr: exit.stderrTail.slice(-5) }, 'ffmpeg exited during the recording; restarting it into a new segment');
    this.#quickDeaths = Date.now() - startedAt < HEALTHY_RUN_MS ? this.#quickDeaths + 1 : 0;
    const exitedAt = Date.now();
    void this.#startSegment().then(() => {
      if (this.#currentSegment !== undefined) this.emit('gap', { fromSegment: index, toSegment: this.#currentSegment, gapMs: Date.now() - exitedAt });
    });
  }

  async #resume(consumer: types.Consumer, track: TrackName): Promise<void> {
    // Cut for an end being stored (cutNow): a producer re-published meanwhile stays paused too.
    if (consumer.closed || this.#cuts > 0) return;
    try {
      if (consumer.paused) await consumer.resume();
      if (isVideoTrack(track)) await consumer.requestKeyFrame();
    } catch (error) {
      // The consumer closed meanwhile (its producer went away): its next generation will come.
      this.#logger.warn({ err: error, track }, 'could not resume a recording consumer');
    }
  }

  #startKeyframeTimer(): void {
    if (this.#keyframeTimer) return;
    this.#keyframeTimer = setInterval(() => {
      for (const track of this.#bindings.keys()) if (isVideoTrack(track)) this.#requestKeyFrame(track);
    }, this.#keyframeIntervalMs);
  }

  #requestKeyFrame(track: TrackName): void {
    const consumer = this.#bindings.get(track)?.consumer;
    if (!consumer || consumer.closed || consumer.paused) return;
    consumer.requestKeyFrame().catch(() => {
      // Closing consumer; its next generation starts on a key frame anyway.
    });
  }

  async #stop(): Promise<void> {
    // The end is now, however long ffmpeg then takes to quit.
    this.#relay.cut();
    clearInterval(this.#keyframeTimer);
    await this.#segmentStarting?.catch(() => {});
    const recorder = this.#process;
    // Until ffmpeg has quit, it gets a packet to notice the stop by when no media comes (see nudge()).
    const nudging = setInterval(() => this.#relay.nudge(), STOP_NUDGE_MS);
    try {
      if (recorder) await recorder.stop();
    } finally {
      clearInterval(nudging);
    }
    this.#relay.close();
    for (const binding of this.#bindings.values()) binding.transport.close();
    this.#logger.info({ segments: this.#segments }, 'recording stopped');
    this.emit('stopped', { segments: [...this.#segments] });
  }
}

/**
 * How long after a cut the consumers are paused: the frame gate's longest wait for a repair (its
 * give-up time is at most 1 s), so a frame begun before the end can still be completed.
 */
const CUT_REPAIR_GRACE_MS = 1000;

/** How often a stopping ffmpeg is sent a packet to notice the stop by. */
const STOP_NUDGE_MS = 100;

function relayCodecOf(mimeType: string): RelayCodec {
  switch (mimeType.toLowerCase()) {
    case 'video/vp9':
      return 'VP9';
    case 'video/vp8':
      return 'VP8';
    case 'audio/opus':
      return 'opus';
    default:
      throw new Error(`recording ${mimeType} is not supported (VP9, VP8 and Opus are)`);
  }
}
