import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import ffmpeg from 'fluent-ffmpeg';
import type { types } from 'mediasoup';
import type { TrackName } from '../../recorder-pipeline/tracks.ts';
import { FlexibleVp9Proxy } from './flexibleVp9Proxy.ts';
import { ensureMediaFixtures } from './mediaFixtures.ts';

export interface SyntheticPublisherOptions {
  router: types.Router;
  /** Stop sending after this long; endless (looping the fixtures) when omitted. */
  durationSeconds?: number;
  /** Encrypt with SRTP between ffmpeg and mediasoup (PlainTransport enableSrtp), as a real deployment would. */
  srtp?: boolean;
  /**
   * Send the camera in VP9 flexible mode, as Chromium does (through a FlexibleVp9Proxy).
   * Not combinable with srtp.
   */
  flexibleCamera?: boolean;
  ip?: string;
}

const VP9_PAYLOAD_TYPE = 101;
const OPUS_PAYLOAD_TYPE = 100;
const SRTP_SUITE = 'AES_CM_128_HMAC_SHA1_80';

/**
 * A stand-in for a candidate's browser: three mediasoup producers (screen, camera, audio) on
 * PlainTransports, fed in real time by one ffmpeg that stream-copies the cached fixtures to RTP
 * (no encoding, so it costs next to no CPU). Each start() is a new generation of producers with
 * new SSRCs, sequence numbers and timestamps, as a browser reload would be.
 */
export class SyntheticPublisher {
  readonly producers: Record<TrackName, types.Producer>;
  readonly #transports: types.PlainTransport[];
  readonly #proxies: FlexibleVp9Proxy[];
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #closed = false;

  private constructor(producers: Record<TrackName, types.Producer>, transports: types.PlainTransport[], proxies: FlexibleVp9Proxy[], child: ChildProcess) {
    this.producers = producers;
    this.#transports = transports;
    this.#proxies = proxies;
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  static async start(options: SyntheticPublisherOptions): Promise<SyntheticPublisher> {
    const ip = options.ip ?? '127.0.0.1';
    const fixtures = await ensureMediaFixtures();
    if (options.srtp && options.flexibleCamera) throw new Error('flexibleCamera rewrites plain RTP: it cannot be combined with srtp');
    const transports: types.PlainTransport[] = [];
    const proxies: FlexibleVp9Proxy[] = [];
    const producers = {} as Record<TrackName, types.Producer>;
    const outputs: Array<{ track: TrackName; input: number; url: string; ssrc: number; payloadType: number; srtpKey?: string }> = [];
    try {
      for (const [input, track] of (['screen', 'camera', 'audio'] as const).entries()) {
        const transport = await options.router.createPlainTransport({
          listenIp: { ip },
          rtcpMux: false,
          // mediasoup learns ffmpeg's RTP and RTCP source ports from its first packets.
          comedia: true,
          ...(options.srtp ? { enableSrtp: true, srtpCryptoSuite: SRTP_SUITE } : {}),
        });
        transports.push(transport);
        let srtpKey: string | undefined;
        if (options.srtp) {
          srtpKey = randomBytes(30).toString('base64');
          await transport.connect({ srtpParameters: { cryptoSuite: SRTP_SUITE, keyBase64: srtpKey } });
        }
        // ffmpeg's -ssrc is a signed 32-bit option.
        const ssrc = randomInt(1, 0x7fffffff);
        const video = track !== 'audio';
        const payloadType = video ? VP9_PAYLOAD_TYPE : OPUS_PAYLOAD_TYPE;
        producers[track] = await transport.produce({
          kind: video ? 'video' : 'audio',
          rtpParameters: {
            codecs: [
              video
                ? { mimeType: 'video/VP9', payloadType, clockRate: 90000, parameters: { 'profile-id': 0 }, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }
                : { mimeType: 'audio/opus', payloadType, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] },
            ],
            encodings: [{ ssrc }],
          },
          appData: { track, synthetic: true },
        });
        const scheme = options.srtp ? 'srtp' : 'rtp';
        let target = { port: transport.tuple.localPort, rtcpPort: transport.rtcpTuple?.localPort ?? transport.tuple.localPort + 1 };
        if (track === 'camera' && options.flexibleCamera) {
          const proxy = await FlexibleVp9Proxy.start({ ip, ...target });
          proxies.push(proxy);
          target = { port: proxy.port, rtcpPort: proxy.rtcpPort };
        }
        // Room for the flexible descriptor's extra bytes under mediasoup's MTU.
        const url = `${scheme}://${ip}:${target.port}?rtcpport=${target.rtcpPort}&pkt_size=1180`;
        outputs.push({ track, input, url, ssrc, payloadType, ...(srtpKey ? { srtpKey } : {}) });
      }

      const command = ffmpeg();
      for (const file of [fixtures.screen, fixtures.camera, fixtures.audio]) {
        // -re paces each input at its native rate; -stream_loop keeps timestamps increasing across loops.
        command.input(file).inputOptions(['-re', '-stream_loop', '-1']);
      }
      command.inputOptions(['-hide_banner', '-nostats', '-loglevel', 'error']);
      for (const output of outputs) {
        command.output(output.url).outputOptions([
          '-map', `${output.input}:0`,
          '-c', 'copy',
          // ffmpeg calls its VP9 packetizer experimental.
          '-strict', 'experimental',
          '-f', 'rtp',
          '-ssrc', String(output.ssrc),
          '-payload_type', String(output.payloadType),
          ...(options.durationSeconds ? ['-t', String(options.durationSeconds)] : []),
          ...(output.srtpKey ? ['-srtp_out_suite', SRTP_SUITE, '-srtp_out_params', output.srtpKey] : []),
        ]);
      }
      command.on('error', () => {
        // Killed by close(), or ended after durationSeconds.
      });
      const child = await new Promise<ChildProcess>((resolve, reject) => {
        command.once('start', () => resolve((command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc));
        command.once('error', reject);
        command.run();
      });
      return new SyntheticPublisher(producers, transports, proxies, child);
    } catch (error) {
      for (const proxy of proxies) proxy.close();
      for (const transport of transports) transport.close();
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Stops sending and closes the producers (as a browser tab going away would). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#child.kill('SIGKILL');
    await this.#exited;
    for (const proxy of this.#proxies) proxy.close();
    for (const transport of this.#transports) transport.close();
  }
}
