/**
 * The arithmetic that makes a track's successive producer generations look like one RTP stream to
 * ffmpeg. A re-published producer (browser reload, reconnect) arrives with a new SSRC, new
 * sequence numbers and new timestamps; ffmpeg 5.1 would drop the new packets as "old" or jump its
 * timestamps by hours. So every packet goes out with one constant SSRC, sequence numbers that
 * continue where the previous generation stopped, and timestamps that continue with the real
 * wall-clock gap between the generations (gap × clock rate), so the recording keeps its length.
 */
export interface ContinuityOptions {
  clockRate: number;
  outputSsrc: number;
  /** Output sequence number and timestamp of the very first packet (random by default). */
  firstSequenceNumber?: number;
  firstTimestamp?: number;
}

export interface MappedPacket {
  sequenceNumber: number;
  timestamp: number;
  /** Set on the first packet of a generation after the first: the wall-clock pause it bridged. */
  gapMs?: number;
}

interface Generation {
  inputSsrc: number;
  /** Added (mod 2^16 / 2^32) to the input's sequence number and timestamp; undefined until its first packet. */
  sequenceOffset?: number;
  timestampOffset?: number;
}

const SEQ_MOD = 0x10000;
const TS_MOD = 0x100000000;

export class StreamContinuity {
  readonly clockRate: number;
  readonly outputSsrc: number;
  #generation: Generation | undefined;
  readonly #retiredSsrcs = new Set<number>();
  #nextSequenceNumber: number;
  #nextTimestamp: number;
  /** Highest output sequence number so far and the timestamp and arrival time of that packet. */
  #last: { sequenceNumber: number; timestamp: number; arrivalMs: number } | undefined;
  #generations = 0;

  constructor(options: ContinuityOptions) {
    this.clockRate = options.clockRate;
    this.outputSsrc = options.outputSsrc >>> 0;
    this.#nextSequenceNumber = options.firstSequenceNumber ?? Math.floor(Math.random() * SEQ_MOD);
    this.#nextTimestamp = options.firstTimestamp ?? Math.floor(Math.random() * TS_MOD);
  }

  /** Generations begun so far. */
  get generations(): number {
    return this.#generations;
  }

  get currentInputSsrc(): number | undefined {
    return this.#generation?.inputSsrc;
  }

  /**
   * From now on packets of `inputSsrc` are the track; packets of earlier generations are dropped
   * (a closing producer may still have a few in flight).
   */
  beginGeneration(inputSsrc: number): void {
    const ssrc = inputSsrc >>> 0;
    if (this.#generation?.inputSsrc === ssrc) return;
    if (this.#generation) this.#retiredSsrcs.add(this.#generation.inputSsrc);
    this.#retiredSsrcs.delete(ssrc);
    this.#generation = { inputSsrc: ssrc };
    this.#generations++;
  }

  /** Output sequence number and timestamp for an input packet; undefined → drop it. */
  map(inputSsrc: number, inputSequenceNumber: number, inputTimestamp: number, arrivalMs: number): MappedPacket | undefined {
    const generation = this.#generation;
    if (!generation || generation.inputSsrc !== inputSsrc >>> 0) return undefined;
    let gapMs: number | undefined;
    if (generation.sequenceOffset === undefined || generation.timestampOffset === undefined) {
      let firstSequenceNumber = this.#nextSequenceNumber;
      let firstTimestamp = this.#nextTimestamp;
      if (this.#last) {
        gapMs = Math.max(0, arrivalMs - this.#last.arrivalMs);
        firstSequenceNumber = (this.#last.sequenceNumber + 1) % SEQ_MOD;
        // At least one tick so two generations never share a timestamp.
        const gapTicks = Math.max(1, Math.round((gapMs * this.clockRate) / 1000));
        firstTimestamp = (this.#last.timestamp + gapTicks) % TS_MOD;
      }
      generation.sequenceOffset = mod(firstSequenceNumber - inputSequenceNumber, SEQ_MOD);
      generation.timestampOffset = mod(firstTimestamp - inputTimestamp, TS_MOD);
    }
    const sequenceNumber = (inputSequenceNumber + generation.sequenceOffset) % SEQ_MOD;
    const timestamp = (inputTimestamp + generation.timestampOffset) % TS_MOD;
    if (!this.#last || isNewerSequenceNumber(sequenceNumber, this.#last.sequenceNumber)) {
      this.#last = { sequenceNumber, timestamp, arrivalMs };
    }
    return gapMs === undefined ? { sequenceNumber, timestamp } : { sequenceNumber, timestamp, gapMs };
  }

  /**
   * The output timestamp for an RTCP Sender Report's RTP timestamp, so its NTP ↔ RTP mapping
   * matches the packets ffmpeg sees; undefined when the report is not from the current generation
   * or arrives before its first packet (nothing to map it to yet).
   */
  mapSenderReportTimestamp(inputSsrc: number, rtpTimestamp: number): number | undefined {
    const generation = this.#generation;
    if (!generation || generation.inputSsrc !== inputSsrc >>> 0 || generation.timestampOffset === undefined) return undefined;
    return (rtpTimestamp + generation.timestampOffset) % TS_MOD;
  }

  isRetired(inputSsrc: number): boolean {
    return this.#retiredSsrcs.has(inputSsrc >>> 0);
  }
}

function mod(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}

/** RFC 1982 serial number comparison for 16-bit sequence numbers. */
function isNewerSequenceNumber(candidate: number, reference: number): boolean {
  const diff = mod(candidate - reference, SEQ_MOD);
  return diff !== 0 && diff < SEQ_MOD / 2;
}
