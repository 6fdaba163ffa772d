// The floors of this design (issue 14 part 4): the same load as a ramp step, recorded through less
// of the pipeline, so our cost can be read as a multiple of what cannot be taken away.
//  - 'sfu': the SFU alone. Consumers into PlainTransports whose packets a trivial UDP sink (another
//    process) reads and discards: no relay, no ffmpeg.
//  - 'ffmpeg': the SFU plus one bare `ffmpeg -c copy` per interview (the recorder's own command,
//    startRecorderProcess) reading the PlainTransports directly: no relay, no live remux, no upload.
// Both run on the service's own mediasoup workers, so the workers' pids and settings are the ones
// the ramp measured.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { recordingConsumerCodec } from '../recorder-pipeline/consumerCodec.ts';
import type { FfmpegProcess } from '../recorder-pipeline/ffmpeg/FfmpegProcess.ts';
import { startRecorderProcess } from '../recorder-pipeline/ffmpeg/RecorderProcess.ts';
import { findFreeRtpPorts } from '../recorder-pipeline/ffmpeg/udpPorts.ts';
import { recordingSdp, sdpTrackFromRtpParameters } from '../recorder-pipeline/sdp/recordingSdp.ts';
import { isVideoTrack, trackNames } from '../recorder-pipeline/tracks.ts';
import { SyntheticPublisher } from '../test/support/syntheticPublisher.ts';
import { tempDir } from '../test/support/testConfig.ts';
import type { BenchEnvironment, FloorKind, FloorResult } from './benchTypes.ts';
import { CpuMeter, round } from './procStats.ts';

const IP = '127.0.0.1';
/** As the recorder does (InterviewRecording's default): key frame requests reach the publishers. */
const KEYFRAME_INTERVAL_MS = 2000;

interface FloorInterview {
  router: types.Router;
  publisher: SyntheticPublisher;
  transports: types.PlainTransport[];
  consumers: types.Consumer[];
  recorder?: FfmpegProcess;
}

/** One floor at `n` interviews, measured for `seconds` after a 3 s warm-up. */
export async function measureFloor(env: BenchEnvironment, kind: FloorKind, n: number, seconds: number): Promise<FloorResult> {
  const { service } = env;
  const interviews: FloorInterview[] = [];
  const directory = tempDir(`bench-floor-${kind}-`);
  let sink: UdpSink | undefined;
  let keyframeTimer: NodeJS.Timeout | undefined;
  try {
    if (kind === 'sfu') sink = await UdpSink.start(n * trackNames.length);
    for (let i = 0; i < n; i++) {
      const router = await service.workers.createRouter({ benchFloor: kind });
      const publisher = await SyntheticPublisher.start({ router, srtp: true });
      const interview: FloorInterview = { router, publisher, transports: [], consumers: [] };
      interviews.push(interview);
      for (const track of trackNames) {
        const transport = await router.createPlainTransport({ listenIp: { ip: IP }, rtcpMux: false, comedia: false });
        interview.transports.push(transport);
        const producer = publisher.producers[track];
        interview.consumers.push(
          await transport.consume({ producerId: producer.id, rtpCapabilities: { codecs: [recordingConsumerCodec(router, track, producer)], headerExtensions: [] }, paused: true }),
        );
      }
      const ports = sink ? sink.ports.slice(i * trackNames.length, (i + 1) * trackNames.length) : await startBareRecorder(interview, path.join(directory, String(i)), service.config.mediasoup);
      await Promise.all(
        interview.transports.map((transport, position) => {
          const port = ports[position]!;
          // The sink reads RTCP on the RTP socket too; ffmpeg binds port + 1 for it.
          return transport.connect({ ip: IP, port, rtcpPort: sink ? port : port + 1 });
        }),
      );
      for (const consumer of interview.consumers) {
        await consumer.resume();
        if (consumer.kind === 'video') await consumer.requestKeyFrame();
      }
    }
    keyframeTimer = setInterval(() => {
      for (const interview of interviews) {
        for (const [position, consumer] of interview.consumers.entries()) {
          if (isVideoTrack(trackNames[position]!) && !consumer.closed) consumer.requestKeyFrame().catch(() => undefined);
        }
      }
    }, KEYFRAME_INTERVAL_MS);
    await delay(3000);
    const meter = new CpuMeter(() => ({
      mediasoupWorkers: service.workers.workers.map((worker) => worker.pid),
      receiver: sink ? [sink.pid] : interviews.map((interview) => interview.recorder?.pid).filter((pid): pid is number => pid !== undefined),
      publisherFfmpeg: interviews.map((interview) => interview.publisher.pid).filter((pid): pid is number => pid !== undefined),
      // The bench's own process, which here runs no relay and no remux: its idle cost.
      benchProcess: [process.pid],
      objectStore: env.s3.process.pid ? [env.s3.process.pid] : [],
    }));
    meter.start();
    await delay(seconds * 1000);
    const usage = meter.stop();
    clearInterval(keyframeTimer);
    const mediasoupCores = usage.groups.mediasoupWorkers?.cores ?? 0;
    const receiverCores = usage.groups.receiver?.cores ?? 0;
    let received: FloorResult['received'];
    if (sink) {
      received = await sink.stop();
    } else {
      await Promise.all(interviews.map((interview) => interview.recorder?.stop()));
      const sizes = interviews.flatMap((_, i) => ['screen', 'candidate'].map((file) => fs.statSync(path.join(directory, String(i), `${file}.webm`), { throwIfNoEntry: false })?.size ?? 0));
      received = { bytes: sizes.reduce((sum, size) => sum + size, 0), emptyFiles: sizes.filter((size) => size === 0).length };
    }
    return {
      kind,
      interviews: n,
      seconds: usage.seconds,
      machineBusyCores: usage.machineBusyCores,
      cpu: usage.groups,
      perInterview: {
        mediasoupCores: round(mediasoupCores / n, 4),
        receiverCores: round(receiverCores / n, 4),
        // The SFU floor is the workers' cost only (the sink stands in for any receiver); the
        // ffmpeg floor is workers + the bare recorders.
        floorCores: round((kind === 'sfu' ? mediasoupCores : mediasoupCores + receiverCores) / n, 4),
      },
      received,
    };
  } finally {
    clearInterval(keyframeTimer);
    await Promise.all(interviews.map((interview) => interview.recorder?.kill()));
    await Promise.all(interviews.map((interview) => interview.publisher.close()));
    for (const interview of interviews) interview.router.close();
    await sink?.stop().catch(() => undefined);
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

/** The recorder's ffmpeg on the consumers' SDP, with nothing between it and the SFU. */
async function startBareRecorder(interview: FloorInterview, directory: string, rtc: { rtcMinPort: number; rtcMaxPort: number }): Promise<number[]> {
  fs.mkdirSync(directory, { recursive: true });
  const ports = await findFreeRtpPorts(trackNames.length, IP, { min: rtc.rtcMinPort, max: rtc.rtcMaxPort });
  const sdpPath = path.join(directory, 'recording.sdp');
  const tracks = trackNames.map((track, position) => sdpTrackFromRtpParameters(track, interview.consumers[position]!.rtpParameters, ports[position]!));
  fs.writeFileSync(sdpPath, recordingSdp(tracks, IP));
  interview.recorder = await startRecorderProcess({
    sdpPath,
    screenPath: path.join(directory, 'screen.webm'),
    candidatePath: path.join(directory, 'candidate.webm'),
    rtpPorts: ports,
    logger: pino({ level: 'silent' }),
  });
  return ports;
}

/** bench/udpSinkProcess.ts, started and stopped. */
class UdpSink {
  readonly ports: number[];
  readonly #child: ChildProcess;
  readonly #lines: string[];
  #stopped: Promise<{ packets: number; bytes: number }> | undefined;

  private constructor(child: ChildProcess, ports: number[], lines: string[]) {
    this.#child = child;
    this.ports = ports;
    this.#lines = lines;
  }

  static async start(count: number): Promise<UdpSink> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'udpSinkProcess.ts'), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
    const deadline = Date.now() + 15_000;
    while (lines.length === 0) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the UDP sink did not start');
      await delay(50);
    }
    return new UdpSink(child, (JSON.parse(lines[0]!) as { ports: number[] }).ports, lines);
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Stops the sink and returns what it received. Idempotent. */
  stop(): Promise<{ packets: number; bytes: number }> {
    this.#stopped ??= new Promise((resolve) => {
      const totals = () => resolve(JSON.parse(this.#lines.at(-1) ?? '{}') as { packets: number; bytes: number });
      if (this.#child.exitCode !== null) return totals();
      // 'close', not 'exit': the totals line is read only once stdout has closed.
      this.#child.once('close', totals);
      this.#child.kill('SIGTERM');
    });
    return this.#stopped;
  }
}
