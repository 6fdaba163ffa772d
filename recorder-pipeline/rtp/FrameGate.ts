/**
 * Lets only whole, decodable video frames through to ffmpeg, in order and without sequence gaps.
 *
 * Measured before it existed: on a candidate uplink losing 3 % of its packets with 100 ms more
 * round trip, NACK repairs every packet, but the repair comes after ffmpeg 5.1's RTP demuxer has
 * given the missing packet its 100 ms and written the frame without it: 2 undecodable frames per
 * file, every run. At 15 % loss some packets are never repaired, and every frame after the broken
 * one, up to the next key frame, is written undecodable too. Waiting longer inside ffmpeg
 * (`-max_delay`) delayed every stream behind any gap, the relay's own included.
 *
 * So the gate holds a video track's packets until their frame is complete: from a packet that
 * starts a frame to one that ends it (marker bit, VP9's E bit, or the next frame's start right
 * after it), every sequence number present. A frame whose hole is not repaired in time is given
 * up; from then on frames are dropped until a key frame (and again while none comes).
 *
 * How long is "in time" is learnt from the repairs themselves. Measured with random uplink loss:
 * repairs arrive within 40–160 ms on loopback and 140–160 ms with 100 ms RTT, and a packet not
 * repaired by then was never repaired at all (0 late arrivals in 20 s at 15 % loss). So:
 * - the wait is 2.5 × the longest recent repair (between the two bounds);
 * - once a hole outlasts 1.25 × the 90th percentile of recent repairs, a key frame is asked for
 *   already, so it is on its way before the frame is given up;
 * - once that key frame is held whole behind the hole, the gate skips to it instead of waiting on.
 * What leaves is numbered without gaps, so ffmpeg never waits for a packet. Timestamps are
 * untouched, so the file's timeline keeps the dropped frames' time as a freeze.
 *
 * Per packet it stores a reference to the datagram node already allocated and a few numbers in
 * typed arrays: no object per packet.
 */
import { timestamp } from './rtpPacket.ts';
import { isVp8KeyFrameStart } from './vp8PayloadDescriptor.ts';
import { isVp9KeyFrameStartAt } from './vp9PayloadDescriptor.ts';

export type VideoCodec = 'VP9' | 'VP8';

export interface FrameGateOptions {
  codec: VideoCodec;
  /** The longest a known hole is waited for (NACK repair) before its frame is given up… */
  maxRepairWaitMs: number;
  /** …and the shortest, however fast recent repairs were. */
  minRepairWaitMs?: number;
  /**
   * After a frame is given up, how long to wait for a key frame before forwarding again from the
   * next frame start anyway: a sender that ignores key frame requests must not freeze the file.
   */
  keyFrameWaitMs: number;
  /**
   * Each packet let through, in order: the datagram, where its payload starts, and when it
   * arrived (a frame held for a repair leaves later than its packets came).
   */
  /** Each packet of a whole frame, in order; `frameArrivalMs` is when the frame's first packet came. */
  forward: (packet: Buffer, payloadStart: number, arrivalMs: number, frameArrivalMs: number) => void;
  requestKeyFrame: () => void;
  /** How often a key frame is asked for again while none has come. */
  keyFrameRequestIntervalMs?: number;
}

export interface FrameGateStats {
  framesForwarded: number;
  /** Frames with a packet that never came (or came after its frame was given up). */
  framesGivenUp: number;
  /** Of those, given up early because a whole key frame was waiting behind the hole. */
  keyFrameSkips: number;
  /** Whole frames dropped because they depend on a given-up one (waiting for a key frame). */
  framesDroppedUntilKeyFrame: number;
  keyFrameRequests: number;
  /** Packets that came after their place had been passed (late repairs, duplicates). */
  latePackets: number;
  /** The longest a frame was held waiting for a repair, in ms (given up or repaired). */
  longestHoldMs: number;
  /** The longest wait that ended in a repair, in ms. */
  longestRepairMs: number;
  /** The current wait before a frame is given up, in ms. */
  repairWaitMs: number;
  /** Packets not forwarded: of given-up or dropped frames, or before the first frame start. */
  packetsDropped: number;
  /**
   * Frozen time (frames more than 200 ms apart, by RTP timestamp) in what arrived and in what was
   * forwarded, in ms: the difference is the freeze the gate added, the rest the sender's own.
   */
  arrivedFrozenMs: number;
  forwardedFrozenMs: number;
}

/** Slots for packets held at once (a power of two); ≈ 5 s of a 2 Mbit/s screen. */
const CAPACITY = 2048;
const MASK = CAPACITY - 1;
const SEQ_MOD = 0x10000;

/** The wait before giving a frame up, as a multiple of recent repair times. */
const REPAIR_WAIT_FACTOR = 2.5;
/**
 * A key frame is asked for once a hole lasts this multiple of the 90th percentile of recent
 * repairs: most repairs come in the first NACK round (40–45 ms on loopback at 15 % loss), a few
 * in the second (150–200 ms), and the rest never.
 */
const EARLY_KEY_FRAME_FACTOR = 1.25;
/** Repairs the percentile is taken over. */
const RECENT_REPAIRS = 32;
/** How much of a repair time is kept per later repair (the estimate's decay). */
const REPAIR_ESTIMATE_DECAY = 0.95;
const DEFAULT_MIN_REPAIR_WAIT_MS = 100;
/** The wait before any repair was seen: repairs up to a 300–400 ms round trip come within it. */
const INITIAL_REPAIR_WAIT_MS = 500;

/** A step between frames longer than this is a freeze (the measure). */
const FROZEN_STEP_TICKS = 0.2 * 90_000;

const START = 1;
const END = 2;
const KEY = 4;

export class FrameGate {
  readonly #options: FrameGateOptions;
  readonly #requestIntervalMs: number;
  readonly #packets: (Buffer | undefined)[] = new Array(CAPACITY).fill(undefined);
  readonly #sequenceNumbers = new Int32Array(CAPACITY).fill(-1);
  readonly #flags = new Uint8Array(CAPACITY);
  readonly #payloadStarts = new Uint16Array(CAPACITY);
  readonly #arrivals = new Float64Array(CAPACITY);
  /** The oldest sequence number not yet forwarded or dropped; −1 until the first frame start. */
  #next = -1;
  /**
   * How far the head frame has been checked: every sequence number from #next up to (not
   * including) this one is held, none of them ends a frame and none but #next starts one. It
   * keeps the completeness check at one step per packet instead of a rescan of the frame.
   */
  #scanFrom = -1;
  /** The newest key frame start held (−1: none). */
  #keyFrameStart = -1;
  /** Packets held (present slots). */
  #held = 0;
  /** The newest sequence number held, meaningful while #held > 0. */
  #newest = 0;
  /** When the head frame was first seen with a hole and a later packet; −1: not waiting. */
  #waitingSince = -1;
  #needKeyFrame = false;
  #needKeyFrameSince = 0;
  #lastKeyFrameRequest = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  /** RTP timestamps of the latest frame start that arrived and that was forwarded (−1: none yet). */
  #lastArrivedTimestamp = -1;
  #lastForwardedTimestamp = -1;
  /** A decaying maximum of recent repair times, in ms. */
  #repairEstimateMs: number;
  /** The latest repair times (a ring), for the early key frame request's percentile. */
  readonly #recentRepairs: number[] = [];
  #recentRepairsNext = 0;
  #earlyAskMs: number;
  /** A key frame was asked for during the current wait. */
  #askedEarly = false;
  readonly stats: FrameGateStats = { framesForwarded: 0, framesGivenUp: 0, keyFrameSkips: 0, framesDroppedUntilKeyFrame: 0, keyFrameRequests: 0, latePackets: 0, longestHoldMs: 0, longestRepairMs: 0, repairWaitMs: 0, packetsDropped: 0, arrivedFrozenMs: 0, forwardedFrozenMs: 0 };

  constructor(options: FrameGateOptions) {
    this.#options = options;
    this.#requestIntervalMs = options.keyFrameRequestIntervalMs ?? 300;
    this.#repairEstimateMs = Math.min(options.maxRepairWaitMs, INITIAL_REPAIR_WAIT_MS) / REPAIR_WAIT_FACTOR;
    this.#earlyAskMs = EARLY_KEY_FRAME_FACTOR * this.#repairEstimateMs;
    this.stats.repairWaitMs = this.#repairWaitMs();
  }

  /** One packet, its (continuous) sequence number and where its payload starts in it. */
  push(packet: Buffer, sequenceNumber: number, payloadStart: number, nowMs: number): void {
    const flags = frameFlags(this.#options.codec, packet, payloadStart);
    if (flags & START) {
      const frozenTicks = frozenTicksSince(this.#lastArrivedTimestamp, timestamp(packet));
      if (frozenTicks >= 0) {
        this.#lastArrivedTimestamp = timestamp(packet);
        this.stats.arrivedFrozenMs += frozenTicks / 90;
      }
    }
    if (this.#next < 0) {
      // Join the stream at a frame start; what comes before it is the tail of a frame never seen.
      if (!(flags & START)) {
        this.stats.packetsDropped++;
        return;
      }
      this.#next = sequenceNumber;
      this.#scanFrom = sequenceNumber;
    }
    const ahead = (sequenceNumber - this.#next + SEQ_MOD) % SEQ_MOD;
    if (ahead >= SEQ_MOD / 2) {
      this.stats.latePackets++;
      this.stats.packetsDropped++;
      return;
    }
    if (ahead >= CAPACITY) this.#giveUpUntil((sequenceNumber - CAPACITY + 1 + SEQ_MOD) % SEQ_MOD, nowMs);
    const slot = sequenceNumber & MASK;
    if (this.#sequenceNumbers[slot] === sequenceNumber) {
      this.stats.latePackets++;
      this.stats.packetsDropped++;
      return;
    }
    this.#packets[slot] = packet;
    this.#sequenceNumbers[slot] = sequenceNumber;
    if (flags & KEY && (this.#keyFrameStart < 0 || isNewer(sequenceNumber, this.#keyFrameStart))) this.#keyFrameStart = sequenceNumber;
    this.#flags[slot] = flags;
    this.#payloadStarts[slot] = payloadStart;
    this.#arrivals[slot] = nowMs;
    if (this.#held === 0 || isNewer(sequenceNumber, this.#newest)) this.#newest = sequenceNumber;
    this.#held++;
    this.#release(nowMs);
  }

  /**
   * A new producer generation follows: whatever is held cannot be completed any more. The next
   * generation joins at its first frame start (a new encoder's first frame is a key frame).
   */
  reset(): void {
    while (this.#held > 0) this.#drop(this.#next);
    this.#next = -1;
    this.#scanFrom = -1;
    this.#keyFrameStart = -1;
    this.#lastArrivedTimestamp = -1;
    this.#lastForwardedTimestamp = -1;
    this.#waitingSince = -1;
    this.#needKeyFrame = false;
    this.#clearTimer();
  }

  close(): void {
    this.#clearTimer();
  }

  #release(nowMs: number): void {
    while (this.#held > 0) {
      const head = this.#next & MASK;
      if (this.#sequenceNumbers[head] === this.#next && !(this.#flags[head]! & START)) {
        // The rest of a frame already given up.
        this.#drop(this.#next);
        continue;
      }
      const end = this.#completeFrameEnd();
      if (end >= 0) {
        this.#emitFrame(end, nowMs);
        continue;
      }
      if (!this.#holeIsKnown()) return;
      if (this.#waitingSince < 0) {
        this.#waitingSince = nowMs;
        this.#askedEarly = false;
      }
      const waitedMs = nowMs - this.#waitingSince;
      const waitMs = this.#repairWaitMs();
      const askAtMs = Math.min(this.#earlyAskMs, waitMs);
      if (waitedMs >= askAtMs && this.#wholeKeyFrameAhead()) {
        // The repair is overdue and a whole key frame waits behind the hole: nothing before it is
        // worth more waiting (without the repair it could not be decoded anyway).
        this.#skipToKeyFrame(nowMs);
        continue;
      }
      if (waitedMs < waitMs) {
        if (!this.#askedEarly && waitedMs >= askAtMs) {
          this.#askedEarly = true;
          this.#requestKeyFrame(nowMs);
        }
        this.#schedule((this.#askedEarly ? waitMs : Math.min(waitMs, askAtMs)) - waitedMs);
        return;
      }
      this.#giveUpHeadFrame(nowMs);
    }
  }

  /** A key frame newer than the hole is held whole. */
  #wholeKeyFrameAhead(): boolean {
    const start = this.#keyFrameStart;
    if (start < 0 || !isNewer(start, this.#scanFrom)) return false;
    for (let sequenceNumber = start; ; sequenceNumber = (sequenceNumber + 1) % SEQ_MOD) {
      const slot = sequenceNumber & MASK;
      if (this.#sequenceNumbers[slot] !== sequenceNumber) return false;
      const flags = this.#flags[slot]!;
      if ((sequenceNumber !== start && flags & START) || flags & END) return true;
    }
  }

  #skipToKeyFrame(nowMs: number): void {
    this.stats.framesGivenUp++;
    this.stats.keyFrameSkips++;
    this.stats.longestHoldMs = Math.max(this.stats.longestHoldMs, nowMs - this.#waitingSince);
    this.#waitingSince = -1;
    const start = this.#keyFrameStart;
    while (this.#next !== start) this.#drop(this.#next);
  }

  /** The head frame's last sequence number when all of it is here, else −1. */
  #completeFrameEnd(): number {
    for (let sequenceNumber = this.#scanFrom; ; sequenceNumber = (sequenceNumber + 1) % SEQ_MOD) {
      const slot = sequenceNumber & MASK;
      if (this.#sequenceNumbers[slot] !== sequenceNumber) {
        this.#scanFrom = sequenceNumber;
        return -1;
      }
      const flags = this.#flags[slot]!;
      if (sequenceNumber !== this.#next && flags & START) {
        this.#scanFrom = sequenceNumber;
        return (sequenceNumber - 1 + SEQ_MOD) % SEQ_MOD;
      }
      if (flags & END) {
        this.#scanFrom = sequenceNumber;
        return sequenceNumber;
      }
    }
  }

  /**
   * A packet newer than the head frame's first missing one (#scanFrom, after #completeFrameEnd
   * found none complete) is held: the hole is a loss (or reordering), not packets in transit.
   */
  #holeIsKnown(): boolean {
    return isNewer(this.#newest, this.#scanFrom);
  }

  #emitFrame(end: number, nowMs: number): void {
    const head = this.#next & MASK;
    const isKey = (this.#flags[head]! & KEY) !== 0;
    if (this.#waitingSince >= 0) this.#repaired(nowMs - this.#waitingSince);
    this.#waitingSince = -1;
    if (this.#needKeyFrame && !isKey && nowMs - this.#needKeyFrameSince < this.#options.keyFrameWaitMs) {
      this.stats.framesDroppedUntilKeyFrame++;
      this.#requestKeyFrame(nowMs);
      this.#dropThrough(end);
      return;
    }
    this.#needKeyFrame = false;
    this.stats.framesForwarded++;
    const frameTimestamp = timestamp(this.#packets[head]!);
    const frozenTicks = frozenTicksSince(this.#lastForwardedTimestamp, frameTimestamp);
    if (frozenTicks >= 0) {
      this.#lastForwardedTimestamp = frameTimestamp;
      this.stats.forwardedFrozenMs += frozenTicks / 90;
    }
    const frameArrivalMs = this.#arrivals[head]!;
    for (;;) {
      const sequenceNumber = this.#next;
      const slot = sequenceNumber & MASK;
      const packet = this.#packets[slot]!;
      const payloadStart = this.#payloadStarts[slot]!;
      const arrivalMs = this.#arrivals[slot]!;
      this.#forget(sequenceNumber);
      this.#options.forward(packet, payloadStart, arrivalMs, frameArrivalMs);
      if (sequenceNumber === end) return;
    }
  }

  #repaired(heldMs: number): void {
    this.stats.longestHoldMs = Math.max(this.stats.longestHoldMs, heldMs);
    this.stats.longestRepairMs = Math.max(this.stats.longestRepairMs, heldMs);
    this.#repairEstimateMs = Math.max(heldMs, this.#repairEstimateMs * REPAIR_ESTIMATE_DECAY);
    this.#recentRepairs[this.#recentRepairsNext] = heldMs;
    this.#recentRepairsNext = (this.#recentRepairsNext + 1) % RECENT_REPAIRS;
    const sorted = [...this.#recentRepairs].sort((a, b) => a - b);
    this.#earlyAskMs = EARLY_KEY_FRAME_FACTOR * sorted[Math.min(sorted.length - 1, Math.floor(0.9 * sorted.length))]!;
    this.stats.repairWaitMs = this.#repairWaitMs();
  }

  #repairWaitMs(): number {
    const { minRepairWaitMs = DEFAULT_MIN_REPAIR_WAIT_MS, maxRepairWaitMs } = this.#options;
    return Math.min(maxRepairWaitMs, Math.max(minRepairWaitMs, REPAIR_WAIT_FACTOR * this.#repairEstimateMs));
  }

  #giveUpHeadFrame(nowMs: number): void {
    this.stats.framesGivenUp++;
    this.stats.longestHoldMs = Math.max(this.stats.longestHoldMs, nowMs - this.#waitingSince);
    this.#waitingSince = -1;
    // Past the hole (the loop then drops the rest of the frame, up to the next frame start):
    // waiting for it again would double the freeze.
    while (this.#held > 0 && this.#sequenceNumbers[this.#next & MASK] === this.#next) this.#drop(this.#next);
    this.#skipMissing();
    this.#startWaitingForKeyFrame(nowMs);
  }

  /** The buffer is full up to `sequenceNumber`: what is older is given up. */
  #giveUpUntil(sequenceNumber: number, nowMs: number): void {
    this.stats.framesGivenUp++;
    while (this.#next !== sequenceNumber) this.#drop(this.#next);
    this.#waitingSince = -1;
    this.#startWaitingForKeyFrame(nowMs);
  }

  #startWaitingForKeyFrame(nowMs: number): void {
    if (!this.#needKeyFrame) {
      this.#needKeyFrame = true;
      this.#needKeyFrameSince = nowMs;
    }
    this.#requestKeyFrame(nowMs);
  }

  #requestKeyFrame(nowMs: number): void {
    if (nowMs - this.#lastKeyFrameRequest < this.#requestIntervalMs) return;
    this.#lastKeyFrameRequest = nowMs;
    this.stats.keyFrameRequests++;
    this.#options.requestKeyFrame();
  }

  /** Moves the head past missing sequence numbers (while anything newer is held). */
  #skipMissing(): void {
    while (this.#held > 0 && this.#sequenceNumbers[this.#next & MASK] !== this.#next) this.#next = (this.#next + 1) % SEQ_MOD;
    this.#scanFrom = this.#next;
  }

  #dropThrough(end: number): void {
    for (;;) {
      const sequenceNumber = this.#next;
      this.#drop(sequenceNumber);
      if (sequenceNumber === end) return;
    }
  }

  /** Drops the head (`sequenceNumber` is #next), if held, and moves the head on by one. */
  #drop(sequenceNumber: number): void {
    if (this.#forget(sequenceNumber)) this.stats.packetsDropped++;
  }

  /** Frees the head's slot (false: it was not held) and moves the head on by one. */
  #forget(sequenceNumber: number): boolean {
    const slot = sequenceNumber & MASK;
    this.#next = (sequenceNumber + 1) % SEQ_MOD;
    // The head moved on: the next frame is checked from its start.
    this.#scanFrom = this.#next;
    if (sequenceNumber === this.#keyFrameStart) this.#keyFrameStart = -1;
    if (this.#sequenceNumbers[slot] !== sequenceNumber) return false;
    this.#packets[slot] = undefined;
    this.#sequenceNumbers[slot] = -1;
    this.#held--;
    return true;
  }

  #schedule(delayMs: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release(Date.now());
    }, Math.max(1, Math.ceil(delayMs)));
    this.#timer.unref();
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** START, END and KEY for one packet of `codec` (payload at `payloadStart`). */
function frameFlags(codec: VideoCodec, packet: Buffer, payloadStart: number): number {
  const first = packet[payloadStart] ?? 0;
  const marker = (packet[1]! & 0x80) !== 0;
  if (codec === 'VP9') {
    // Descriptor byte 0: I P L F B E V Z (B: start of frame, E: end of frame).
    const start = (first & 0x08) !== 0;
    let flags = (start ? START : 0) | (marker || (first & 0x04) !== 0 ? END : 0);
    if (start && isVp9KeyFrameStartAt(packet, payloadStart, packet.length)) flags |= KEY;
    return flags;
  }
  // VP8: S bit with partition 0 starts a frame; the marker bit ends it.
  const start = (first & 0x10) !== 0 && (first & 0x07) === 0;
  let flags = (start ? START : 0) | (marker ? END : 0);
  if (start && isVp8KeyFrameStart(packet.subarray(payloadStart))) flags |= KEY;
  return flags;
}

/**
 * For a frame at `next` after one at `last` (RTP timestamps, 90 kHz): the ticks of the step
 * counted as frozen (0 when ≤ 200 ms, or for the first frame); −1 when `next` is not newer.
 */
function frozenTicksSince(last: number, next: number): number {
  if (last < 0) return 0;
  const step = (next - last + 0x100000000) % 0x100000000;
  if (step === 0 || step >= 0x80000000) return -1;
  return step > FROZEN_STEP_TICKS ? step : 0;
}

function isNewer(candidate: number, reference: number): boolean {
  const diff = (candidate - reference + SEQ_MOD) % SEQ_MOD;
  return diff !== 0 && diff < SEQ_MOD / 2;
}
