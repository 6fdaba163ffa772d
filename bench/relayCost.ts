// The RTP relay's cost per packet and per interview-second, measured repeatably on a shared machine.
//
//   npx tsx bench/relayCost.ts [--packets 12000] [--warmup 3000] [--callgrind | --callgrind-out DIR] [--cpu-prof DIR]
//                              [--realtime SECONDS] [--runs N] [--floor] [--json]
//
// One interview's relay (the real RtpRelay: screen, camera, audio) runs in a child process; this
// process sends it real packets over loopback and stands in for ffmpeg's sockets, so only the
// relay's work lands in the child's counters. The packets are the cached media fixtures
// packetized by ffmpeg's RTP muxer (VP9 screen ~2.5 Mbit/s, VP9 camera ~1.5 Mbit/s, Opus 50 pps),
// with descriptors shaped like Chromium's: the camera in flexible mode with a layer index (the
// tests' FlexibleVp9Proxy), the screen non-flexible with a 15-bit picture ID (no scalability
// structure on key frames, which Chromium adds). They are captured once into the cache, so every
// run, before and after a change, sends the same bytes.
//
// By default the packets go out in lockstep: a burst (one video frame's packets, or one audio
// packet) at a time, the next once the sink has received the previous burst. That makes the work
// per packet independent of the machine's load, so instruction counts repeat (--callgrind: the
// child runs under valgrind's callgrind; counters are zeroed after the warm-up and dumped after
// the measured packets with callgrind_control). `process.cpuUsage()` gives the seconds figure.
// --realtime sends at the media's own pace instead (as mediasoup would), for seconds of CPU per
// interview-second in the wake-up pattern of a live interview. --floor measures a bare dgram
// forwarder in place of the relay: what no change to the relay's own code can remove.
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { RtpRelay, type RelayCodec, type RelayTrackStats } from '../recorder-pipeline/rtp/RtpRelay.ts';
import { trackNames, type TrackName } from '../recorder-pipeline/tracks.ts';
import { cacheRoot } from '../scripts/mediasoup-worker.mjs';
import { FlexibleVp9Proxy } from '../test/support/flexibleVp9Proxy.ts';
import { ensureMediaFixtures, FIXTURE_SECONDS, fixturesDir } from '../test/support/mediaFixtures.ts';

const run = promisify(execFile);
const ROLE_ENV = 'RELAY_COST_ROLE';
const FLOOR_ENV = 'RELAY_COST_FLOOR';
const CAPTURE_VERSION = 'v1';

interface TrackSpec {
  codec: RelayCodec;
  clockRate: number;
  /** What the producer (ffmpeg here, the browser in production) sends. */
  inputPayloadType: number;
  /** What ffmpeg's SDP announces (the relay rewrites to it). */
  outputPayloadType: number;
  inputSsrc: number;
}

const TRACKS: Record<TrackName, TrackSpec> = {
  screen: { codec: 'VP9', clockRate: 90000, inputPayloadType: 101, outputPayloadType: 96, inputSsrc: 0x11111111 },
  camera: { codec: 'VP9', clockRate: 90000, inputPayloadType: 101, outputPayloadType: 97, inputSsrc: 0x22222222 },
  audio: { codec: 'opus', clockRate: 48000, inputPayloadType: 100, outputPayloadType: 111, inputSsrc: 0x33333333 },
};

type ToParent = { type: 'ready'; endpoints: Record<TrackName, { ip: string; port: number; rtcpPort: number }> } | { type: 'sample'; cpu: NodeJS.CpuUsage; rssBytes: number; stats: Record<TrackName, RelayTrackStats>; monotonicMicros: number };
type ToChild = { type: 'route'; targetPorts: Record<TrackName, number> } | { type: 'sample' } | { type: 'exit' };

// ---------------------------------------------------------------------------------------------
// The measured process: one interview's relay and nothing else.

/** The part of RtpRelay's surface the measured process uses. */
type MeasuredRelay = Pick<RtpRelay, 'route' | 'beginGeneration' | 'openOutput' | 'stats' | 'close' | 'endpoint'>;

/**
 * --floor: what node's dgram costs with no relay logic at all. Each datagram goes out unchanged
 * from a connected socket (RTP) or as is (RTCP); everything the real relay does per packet on
 * top of that is its own cost.
 */
class BareForwarder implements MeasuredRelay {
  readonly #sockets: Record<TrackName, { rtp: dgram.Socket; rtcp: dgram.Socket; out: dgram.Socket }>;
  readonly #stats: Record<TrackName, RelayTrackStats>;

  private constructor(sockets: Record<TrackName, { rtp: dgram.Socket; rtcp: dgram.Socket; out: dgram.Socket }>) {
    this.#sockets = sockets;
    const empty = (): RelayTrackStats => ({ packetsReceived: 0, packetsForwarded: 0, bytesForwarded: 0, packetsDropped: 0, senderReportsForwarded: 0, descriptorsRewritten: 0, generations: 0 });
    this.#stats = { screen: empty(), camera: empty(), audio: empty() };
  }

  static async create(): Promise<BareForwarder> {
    const sockets = {} as Record<TrackName, { rtp: dgram.Socket; rtcp: dgram.Socket; out: dgram.Socket }>;
    for (const track of trackNames) sockets[track] = { rtp: await bindUdp(), rtcp: await bindUdp(), out: await bindUdp() };
    return new BareForwarder(sockets);
  }

  route(track: TrackName, route: { targetPort: number }): void {
    const { rtp, rtcp, out } = this.#sockets[track];
    const stats = this.#stats[track];
    out.connect(route.targetPort, '127.0.0.1');
    rtp.on('message', (message) => {
      stats.packetsReceived++;
      out.send(message);
      stats.packetsForwarded++;
      stats.bytesForwarded += message.length;
    });
    rtcp.on('message', (message) => {
      rtcp.send(message, route.targetPort + 1, '127.0.0.1');
      stats.senderReportsForwarded++;
    });
  }

  beginGeneration(): void {}
  openOutput(): void {}

  stats(): Record<TrackName, RelayTrackStats> {
    return structuredClone(this.#stats);
  }

  endpoint(track: TrackName): { ip: string; port: number; rtcpPort: number } {
    return { ip: '127.0.0.1', port: this.#sockets[track].rtp.address().port, rtcpPort: this.#sockets[track].rtcp.address().port };
  }

  close(): void {
    for (const track of trackNames) for (const socket of Object.values(this.#sockets[track])) socket.close();
  }
}

async function relayRole(): Promise<void> {
  const relay: MeasuredRelay =
    process.env[FLOOR_ENV] === '1' ? await BareForwarder.create() : await RtpRelay.create({ tracks: trackNames.map((track) => ({ track, clockRate: TRACKS[track].clockRate })), logger: pino({ level: 'silent' }) });
  const send = (message: ToParent) => process.send!(message);
  // V8's profiler stamps samples with the same monotonic clock: the parent cuts the profile to the measured packets.
  const sample = () => send({ type: 'sample', cpu: process.cpuUsage(), rssBytes: process.memoryUsage.rss(), stats: relay.stats(), monotonicMicros: Number(process.hrtime.bigint() / 1000n) });
  process.on('message', (message: ToChild) => {
    if (message.type === 'route') {
      for (const track of trackNames) {
        relay.route(track, { codec: TRACKS[track].codec, payloadType: TRACKS[track].outputPayloadType, targetPort: message.targetPorts[track] });
        relay.beginGeneration(track, TRACKS[track].inputSsrc);
      }
      relay.openOutput({ keyFrameWaitMs: 10_000, videoWaitMs: 10_000 });
      sample();
    } else if (message.type === 'sample') {
      sample();
    } else {
      relay.close();
      process.disconnect();
    }
  });
  send({ type: 'ready', endpoints: Object.fromEntries(trackNames.map((track) => [track, relay.endpoint(track)])) as Record<TrackName, { ip: string; port: number; rtcpPort: number }> });
}

// ---------------------------------------------------------------------------------------------
// The packets: the fixtures through ffmpeg's RTP muxer, shaped like Chromium's descriptors.

function capturePath(): string {
  const stamp = fs.readFileSync(path.join(fixturesDir(), 'stamp.json'), 'utf8');
  let hash = 0;
  for (const char of stamp) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return path.join(cacheRoot(), 'relay-cost', `packets-${CAPTURE_VERSION}-${hash.toString(16)}.bin`);
}

async function loadPackets(): Promise<Record<TrackName, Buffer[]>> {
  await ensureMediaFixtures();
  const file = capturePath();
  if (!fs.existsSync(file)) {
    const captured = await capturePackets();
    const parts: Buffer[] = [];
    for (const track of trackNames) {
      for (const bytes of captured[track]) {
        const header = Buffer.alloc(3);
        header[0] = trackNames.indexOf(track);
        header.writeUInt16BE(bytes.length, 1);
        parts.push(header, bytes);
      }
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, Buffer.concat(parts));
    fs.renameSync(`${file}.tmp`, file);
  }
  const data = fs.readFileSync(file);
  const packets: Record<TrackName, Buffer[]> = { screen: [], camera: [], audio: [] };
  for (let offset = 0; offset < data.length; ) {
    const track = trackNames[data[offset]!]!;
    const length = data.readUInt16BE(offset + 1);
    packets[track].push(Buffer.from(data.subarray(offset + 3, offset + 3 + length)));
    offset += 3 + length;
  }
  return packets;
}

async function bindUdp(port = 0): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(8 * 1024 * 1024);
  } catch {
    // Capped by net.core.rmem_max.
  }
  return socket;
}

/** Non-flexible, no layer index, I=1 with a 15-bit picture ID: Chromium's single-layer screen descriptor. */
function withPictureId(packet: Buffer, pictureId: number): Buffer {
  const descriptor = packet[12]!;
  const header = Buffer.from([0x80 | (descriptor & 0x4e), 0x80 | (pictureId >> 8), pictureId & 0xff]);
  return Buffer.concat([packet.subarray(0, 12), header, packet.subarray(13)]);
}

async function capturePackets(): Promise<Record<TrackName, Buffer[]>> {
  const fixtures = await ensureMediaFixtures();
  const captured: Record<TrackName, Buffer[]> = { screen: [], camera: [], audio: [] };
  const sockets: dgram.Socket[] = [];
  const proxies: FlexibleVp9Proxy[] = [];
  const urls: Record<TrackName, string> = {} as Record<TrackName, string>;
  let screenPictureId = 0;
  let screenTimestamp: number | undefined;
  for (const track of trackNames) {
    const rtp = await bindUdp();
    const rtcp = await bindUdp();
    sockets.push(rtp, rtcp);
    rtp.on('message', (message) => {
      if (track === 'screen' && message.length > 12) {
        const ts = message.readUInt32BE(4);
        if (ts !== screenTimestamp) {
          screenTimestamp = ts;
          screenPictureId = (screenPictureId + 1) & 0x7fff;
        }
        captured.screen.push(withPictureId(message, screenPictureId));
      } else {
        captured[track].push(message);
      }
    });
    let target = { port: rtp.address().port, rtcpPort: rtcp.address().port };
    if (track === 'camera') {
      const proxy = await FlexibleVp9Proxy.start({ ip: '127.0.0.1', ...target });
      proxies.push(proxy);
      target = { port: proxy.port, rtcpPort: proxy.rtcpPort };
    }
    urls[track] = `rtp://127.0.0.1:${target.port}?rtcpport=${target.rtcpPort}&pkt_size=1180`;
  }
  const args = ['-hide_banner', '-nostats', '-loglevel', 'error'];
  for (const file of [fixtures.screen, fixtures.camera, fixtures.audio]) args.push('-readrate', '4', '-i', file);
  for (const [input, track] of trackNames.entries()) {
    const spec = TRACKS[track];
    args.push('-map', `${input}:0`, '-c', 'copy', '-strict', 'experimental', '-f', 'rtp', '-ssrc', String(spec.inputSsrc), '-payload_type', String(spec.inputPayloadType), urls[track]);
  }
  await run('ffmpeg', args);
  // Loopback delivers in order; wait for the proxy's last packets to land.
  let count = -1;
  while (count !== captured.screen.length + captured.camera.length + captured.audio.length) {
    count = captured.screen.length + captured.camera.length + captured.audio.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const proxy of proxies) proxy.close();
  for (const socket of sockets) socket.close();
  for (const track of trackNames) {
    const list = captured[track];
    for (let index = 1; index < list.length; index++) {
      if (((list[index - 1]!.readUInt16BE(2) + 1) & 0xffff) !== list[index]!.readUInt16BE(2)) throw new Error(`capture of ${track} lost packets: run again`);
    }
    if (list.length < 100) throw new Error(`capture of ${track} has only ${list.length} packets`);
  }
  return captured;
}

// ---------------------------------------------------------------------------------------------
// The schedule: the captured fixtures looped for as long as needed, merged in media time.

interface Burst {
  /** Media time of the burst, seconds from the start. */
  atSeconds: number;
  track: TrackName;
  packets: Buffer[];
  /** A Sender Report goes to the relay's RTCP port before this burst. */
  senderReport?: Buffer;
}

function schedule(captured: Record<TrackName, Buffer[]>, totalPackets: number): { bursts: Burst[]; mediaSeconds: number } {
  const perTrack: Burst[][] = [];
  const pps = trackNames.map((track) => {
    const list = captured[track];
    const clockRate = TRACKS[track].clockRate;
    const span = ((list.at(-1)!.readUInt32BE(4) - list[0]!.readUInt32BE(4)) >>> 0) / clockRate;
    return list.length / span;
  });
  const totalPps = pps.reduce((sum, value) => sum + value, 0);
  const mediaSecondsWanted = totalPackets / totalPps + 0.1;
  for (const track of trackNames) {
    const list = captured[track];
    const spec = TRACKS[track];
    const firstTs = list[0]!.readUInt32BE(4);
    const firstSeq = list[0]!.readUInt16BE(2);
    const loopTicks = (((list.at(-1)!.readUInt32BE(4) - firstTs) >>> 0) + Math.round(spec.clockRate / (track === 'audio' ? 50 : 30))) >>> 0;
    const bursts: Burst[] = [];
    let nextReportAt = 0;
    for (let loop = 0, index = 0; ; index++) {
      if (index === list.length) {
        index = 0;
        loop++;
      }
      const source = list[index]!;
      const ticks = ((source.readUInt32BE(4) - firstTs) >>> 0) + loop * loopTicks;
      const atSeconds = ticks / spec.clockRate;
      if (atSeconds > mediaSecondsWanted) break;
      const packet = Buffer.from(source);
      packet.writeUInt16BE((firstSeq + loop * list.length + index) & 0xffff, 2);
      packet.writeUInt32BE((firstTs + ticks) >>> 0, 4);
      const last = bursts.at(-1);
      if (last && last.atSeconds === atSeconds) {
        last.packets.push(packet);
        continue;
      }
      const burst: Burst = { atSeconds, track, packets: [packet] };
      // mediasoup sends each consumer a Sender Report about once a second.
      if (atSeconds >= nextReportAt) {
        nextReportAt += 1;
        const report = Buffer.alloc(28);
        report[0] = 0x80;
        report[1] = 200;
        report[3] = 6;
        report.writeUInt32BE(spec.inputSsrc, 4);
        const ntpSeconds = 3_900_000_000 + Math.floor(atSeconds);
        report.writeUInt32BE(ntpSeconds >>> 0, 8);
        report.writeUInt32BE(Math.floor((atSeconds % 1) * 2 ** 32) >>> 0, 12);
        report.writeUInt32BE((firstTs + ticks) >>> 0, 16);
        burst.senderReport = report;
      }
      bursts.push(burst);
    }
    perTrack.push(bursts);
  }
  const bursts = perTrack.flat().sort((a, b) => a.atSeconds - b.atSeconds || trackNames.indexOf(a.track) - trackNames.indexOf(b.track));
  return { bursts, mediaSeconds: mediaSecondsWanted };
}

// ---------------------------------------------------------------------------------------------
// The driver: sender, ffmpeg's stand-in, and the measurements.

interface Options {
  packets: number;
  warmup: number;
  callgrind: boolean;
  /** Keep callgrind's dumps here (for callgrind_annotate) instead of a temporary directory. */
  callgrindOut: string | undefined;
  cpuProfDir: string | undefined;
  realtimeSeconds: number | undefined;
  runs: number;
  json: boolean;
  /** Measure the bare dgram forwarder instead of RtpRelay. */
  floor: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { packets: 12_000, warmup: 3000, callgrind: false, callgrindOut: undefined, cpuProfDir: undefined, realtimeSeconds: undefined, runs: 1, json: false, floor: false };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const value = () => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--packets') options.packets = Number(value());
    else if (arg === '--warmup') options.warmup = Number(value());
    else if (arg === '--callgrind') options.callgrind = true;
    else if (arg === '--callgrind-out') {
      options.callgrind = true;
      options.callgrindOut = path.resolve(value());
    }
    else if (arg === '--cpu-prof') options.cpuProfDir = path.resolve(value());
    else if (arg === '--realtime') options.realtimeSeconds = Number(value());
    else if (arg === '--runs') options.runs = Number(value());
    else if (arg === '--json') options.json = true;
    else if (arg === '--floor') options.floor = true;
    else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

interface Sink {
  targetPorts: Record<TrackName, number>;
  received: () => number;
  /** Resolves true once `count` RTP packets have arrived, false after `timeoutMs`. */
  waitFor: (count: number, timeoutMs: number) => Promise<boolean>;
  close: () => void;
}

/** ffmpeg's stand-in: an RTP socket on port P and an RTCP socket on P + 1 per track. */
async function openSink(): Promise<Sink> {
  let received = 0;
  let waiter: { count: number; resolve: (reached: boolean) => void } | undefined;
  const onPacket = () => {
    received++;
    if (waiter && received >= waiter.count) {
      waiter.resolve(true);
      waiter = undefined;
    }
  };
  const waitFor = (count: number, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (received >= count) return resolve(true);
      const timer = setTimeout(() => {
        waiter = undefined;
        resolve(false);
      }, timeoutMs);
      waiter = {
        count,
        resolve: (reached) => {
          clearTimeout(timer);
          resolve(reached);
        },
      };
    });
  const sockets: dgram.Socket[] = [];
  const targetPorts = {} as Record<TrackName, number>;
  for (const track of trackNames) {
    for (let attempt = 0; ; attempt++) {
      const rtp = await bindUdp();
      const rtcp = await bindUdp(rtp.address().port + 1).catch(() => undefined);
      if (!rtcp) {
        rtp.close();
        if (attempt === 20) throw new Error('no free pair of consecutive UDP ports');
        continue;
      }
      rtp.on('message', onPacket);
      sockets.push(rtp, rtcp);
      targetPorts[track] = rtp.address().port;
      break;
    }
  }
  return { targetPorts, received: () => received, waitFor, close: () => sockets.forEach((socket) => socket.close()) };
}

interface RunResult {
  packets: number;
  mediaSeconds: number;
  cpuMicros: number;
  systemMicros: number;
  instructions: number | undefined;
  rssBytes: number;
  stats: Record<TrackName, RelayTrackStats>;
  lost: number;
  /** The measured phase on the child's monotonic clock, in µs. */
  window: [number, number];
}

async function runOnce(options: Options, captured: Record<TrackName, Buffer[]>, runIndex: number): Promise<RunResult> {
  const realtime = options.realtimeSeconds !== undefined;
  const totalPps = trackNames.reduce((sum, track) => sum + captured[track].length, 0) / FIXTURE_SECONDS;
  const measuredPackets = realtime ? Math.round(options.realtimeSeconds! * totalPps) : options.packets;
  const { bursts } = schedule(captured, options.warmup + measuredPackets);
  const script = fileURLToPath(import.meta.url);
  const nodeArgs = [...process.execArgv];
  let profileDir: string | undefined;
  if (options.cpuProfDir) {
    profileDir = path.join(options.cpuProfDir, `run-${runIndex}`);
    fs.rmSync(profileDir, { recursive: true, force: true });
    fs.mkdirSync(profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', profileDir);
  }
  let callgrindDir: string | undefined;
  if (options.callgrindOut) {
    callgrindDir = path.join(options.callgrindOut, `run-${runIndex}`);
    fs.rmSync(callgrindDir, { recursive: true, force: true });
    fs.mkdirSync(callgrindDir, { recursive: true });
  } else if (options.callgrind) {
    callgrindDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-cost-callgrind-'));
  }
  const command = callgrindDir ? 'valgrind' : process.execPath;
  const args = callgrindDir ? ['--tool=callgrind', '--quiet', `--callgrind-out-file=${callgrindDir}/callgrind.out`, process.execPath, ...nodeArgs, script] : [...nodeArgs, script];
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [ROLE_ENV]: 'relay', [FLOOR_ENV]: options.floor ? '1' : '0' } });
  const messages: ToParent[] = [];
  let wake: (() => void) | undefined;
  child.on('message', (message: ToParent) => {
    messages.push(message);
    wake?.();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const next = async <T extends ToParent['type']>(type: T): Promise<Extract<ToParent, { type: T }>> => {
    for (;;) {
      const index = messages.findIndex((message) => message.type === type);
      if (index >= 0) return messages.splice(index, 1)[0] as Extract<ToParent, { type: T }>;
      const ended = await Promise.race([new Promise<false>((resolve) => (wake = () => resolve(false))), exited.then(() => true)]);
      if (ended) throw new Error(`the relay process exited before sending ${type}`);
    }
  };
  const sink = await openSink();
  const sender = await bindUdp();
  try {
    const ready = await next('ready');
    child.send({ type: 'route', targetPorts: sink.targetPorts } satisfies ToChild);
    await next('sample');
    const burstTimeoutMs = callgrindDir ? 30_000 : 2000;
    let sent = 0;
    let lost = 0;
    let expected = 0;
    const sendBurst = async (burst: Burst): Promise<void> => {
      const endpoint = ready.endpoints[burst.track];
      if (burst.senderReport) sender.send(burst.senderReport, endpoint.rtcpPort, endpoint.ip);
      for (const packet of burst.packets) sender.send(packet, endpoint.port, endpoint.ip);
      sent += burst.packets.length;
    };
    const waitForSink = sink.waitFor;
    // Warm-up in lockstep: the relay starts its output (key frame gate), V8 optimizes.
    let index = 0;
    for (; index < bursts.length && sent < options.warmup; index++) {
      const before = sink.received();
      await sendBurst(bursts[index]!);
      // Until every track has started some packets are held back: wait for what does arrive.
      await waitForSink(before + bursts[index]!.packets.length, burstTimeoutMs);
    }
    const warmStats = await (child.send({ type: 'sample' } satisfies ToChild), next('sample'));
    if (trackNames.some((track) => warmStats.stats[track].packetsForwarded === 0)) throw new Error(`the warm-up did not start every track: ${JSON.stringify(warmStats.stats)}`);
    if (callgrindDir) await run('callgrind_control', ['--zero', String(child.pid)]);
    const start = await (child.send({ type: 'sample' } satisfies ToChild), next('sample'));
    const sentBefore = sent;
    expected = sink.received();
    const startMedia = bursts[index]!.atSeconds;
    const startWall = performance.now();
    let endMedia = startMedia;
    for (; index < bursts.length && sent - sentBefore < measuredPackets; index++) {
      const burst = bursts[index]!;
      if (realtime) {
        const dueMs = (burst.atSeconds - startMedia) * 1000 - (performance.now() - startWall);
        if (dueMs > 1) await new Promise((resolve) => setTimeout(resolve, dueMs));
        await sendBurst(burst);
        expected += burst.packets.length;
      } else {
        await sendBurst(burst);
        expected += burst.packets.length;
        if (!(await waitForSink(expected, burstTimeoutMs))) {
          lost += expected - sink.received();
          expected = sink.received();
        }
      }
      endMedia = bursts[index + 1]?.atSeconds ?? burst.atSeconds;
    }
    if (realtime && !(await waitForSink(expected, 2000))) lost += expected - sink.received();
    let instructions: number | undefined;
    if (callgrindDir) {
      await run('callgrind_control', ['--dump=measured', String(child.pid)]);
      const dump = fs.readdirSync(callgrindDir).find((name) => /\.\d+$/.test(name));
      if (!dump) throw new Error('callgrind wrote no dump');
      const summary = /^summary:\s+(\d+)/m.exec(fs.readFileSync(path.join(callgrindDir, dump), 'utf8'));
      instructions = Number(summary?.[1]);
    }
    const end = await (child.send({ type: 'sample' } satisfies ToChild), next('sample'));
    child.send({ type: 'exit' } satisfies ToChild);
    await exited;
    const packets = sent - sentBefore;
    return {
      packets,
      mediaSeconds: endMedia - startMedia,
      cpuMicros: end.cpu.user + end.cpu.system - start.cpu.user - start.cpu.system,
      systemMicros: end.cpu.system - start.cpu.system,
      instructions,
      rssBytes: end.rssBytes,
      stats: end.stats,
      lost,
      window: [start.monotonicMicros, end.monotonicMicros],
    };
  } finally {
    sink.close();
    sender.close();
    if (child.exitCode === null) child.kill('SIGKILL');
    if (callgrindDir && !options.callgrindOut) fs.rmSync(callgrindDir, { recursive: true, force: true });
  }
}

/** Self time per function from a V8 .cpuprofile within `window` (µs, monotonic), the top `limit` (idle excluded). */
function topFunctions(file: string, window: [number, number], limit = 15): Array<{ name: string; percent: number }> {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    startTime: number;
    samples: number[];
    timeDeltas: number[];
  };
  const names = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` ${url.replace(/^.*\/(node_modules|recorder-pipeline|bench)\//, '$1/').replace(/^node:/, '')}:${lineNumber + 1}` : '';
    names.set(node.id, `${functionName || '(anonymous)'}${where}`);
  }
  const self = new Map<string, number>();
  let total = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at < window[0] || at > window[1]) return;
    const name = names.get(id) ?? '?';
    if (name.startsWith('(idle)')) return;
    self.set(name, (self.get(name) ?? 0) + delta);
    total += delta;
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, micros]) => ({ name, percent: Math.round((1000 * micros) / total) / 10 }));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const captured = await loadPackets();
  const perSecond = Object.fromEntries(trackNames.map((track) => [track, Math.round(captured[track].length / FIXTURE_SECONDS)]));
  const results: RunResult[] = [];
  for (let runIndex = 0; runIndex < options.runs; runIndex++) results.push(await runOnce(options, captured, runIndex));
  const rows = results.map((result) => {
    const packetsPerSecond = result.packets / result.mediaSeconds;
    return {
      packets: result.packets,
      mediaSeconds: Math.round(result.mediaSeconds * 100) / 100,
      lost: result.lost,
      instructionsPerPacket: result.instructions === undefined ? undefined : Math.round(result.instructions / result.packets),
      instructionsPerInterviewSecond: result.instructions === undefined ? undefined : Math.round(result.instructions / result.mediaSeconds),
      cpuMicrosPerPacket: Math.round((10 * result.cpuMicros) / result.packets) / 10,
      systemMicrosPerPacket: Math.round((10 * result.systemMicros) / result.packets) / 10,
      cpuSecondsPerInterviewHour: Math.round(((result.cpuMicros / 1e6) * 3600 * 10) / result.mediaSeconds) / 10,
      packetsPerInterviewSecond: Math.round(packetsPerSecond),
      rssMB: Math.round(result.rssBytes / 1e5) / 10,
      descriptorsRewritten: Object.fromEntries(trackNames.map((track) => [track, result.stats[track].descriptorsRewritten])),
    };
  });
  let profile: Array<{ name: string; percent: number }> | undefined;
  if (options.cpuProfDir) {
    const dir = path.join(options.cpuProfDir, 'run-0');
    // One profile per thread (tsx's loader runs in a worker): the main thread's is CPU.<date>.<time>.<pid>.0.<n>.
    const file = fs.readdirSync(dir).find((name) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(name));
    if (file) profile = topFunctions(path.join(dir, file), results[0]!.window);
  }
  const mode = `${options.floor ? 'bare dgram forwarder (floor), ' : ''}${options.realtimeSeconds !== undefined ? `realtime ${options.realtimeSeconds} s` : `lockstep, ${options.warmup} warm-up + ${options.packets} measured packets`}`;
  if (options.json) {
    console.log(JSON.stringify({ mode, callgrind: options.callgrind, fixturePacketsPerSecond: perSecond, runs: rows, profile }, null, 2));
    return;
  }
  console.log(`relay cost (${mode}${options.callgrind ? ', under callgrind' : ''}); fixture packets per second: ${JSON.stringify(perSecond)}`);
  for (const row of rows) {
    console.log(
      [
        `${row.packets} packets (${row.mediaSeconds} interview-s, ${row.packetsPerInterviewSecond} pkt/s), lost ${row.lost}`,
        row.instructionsPerPacket === undefined ? undefined : `${row.instructionsPerPacket} instructions/packet, ${(row.instructionsPerInterviewSecond! / 1e6).toFixed(2)} M instructions/interview-s`,
        // valgrind runs the process tens of times slower: its seconds mean nothing.
        options.callgrind ? undefined : `${row.cpuMicrosPerPacket} µs CPU/packet (${row.systemMicrosPerPacket} in the kernel), ${row.cpuSecondsPerInterviewHour} CPU-s/interview-hour`,
        `RSS ${row.rssMB} MB`,
        `rewritten ${JSON.stringify(row.descriptorsRewritten)}`,
      ]
        .filter(Boolean)
        .join(' · '),
    );
  }
  if (profile) {
    console.log('top functions by self time (idle excluded):');
    for (const entry of profile) console.log(`  ${entry.percent.toFixed(1).padStart(5)} %  ${entry.name}`);
  }
}

if (process.env[ROLE_ENV] === 'relay') {
  await relayRole();
} else {
  await main();
}
