import dgram from 'node:dgram';
import { isVp9KeyFrameStart } from '../../recorder-pipeline/rtp/vp9PayloadDescriptor.ts';

/**
 * Sits between ffmpeg's RTP output and a mediasoup PlainTransport and turns ffmpeg's minimal VP9
 * descriptors into the flexible-mode descriptors Chromium sends for cameras: I=1 with a 15-bit
 * picture ID, L=1 with a layer index byte, F=1, and on inter frames P=1 with one P_DIFF. That is
 * the stream ffmpeg 5.1 cannot depacketize ("Invalid frame marker"), made reproducible without a
 * browser. RTCP passes through unchanged.
 */
export class FlexibleVp9Proxy {
  readonly #rtp: dgram.Socket;
  readonly #rtcp: dgram.Socket;
  #pictureId = Math.floor(Math.random() * 0x8000);
  #lastTimestamp: number | undefined;
  #interFrame = false;
  #closed = false;

  private constructor(rtp: dgram.Socket, rtcp: dgram.Socket) {
    this.#rtp = rtp;
    this.#rtcp = rtcp;
  }

  /** Listens on loopback and forwards to mediasoup's `target` RTP and RTCP ports. */
  static async start(target: { ip: string; port: number; rtcpPort: number }): Promise<FlexibleVp9Proxy> {
    const bind = () =>
      new Promise<dgram.Socket>((resolve) => {
        const socket = dgram.createSocket('udp4');
        socket.bind(0, '127.0.0.1', () => resolve(socket));
      });
    const proxy = new FlexibleVp9Proxy(await bind(), await bind());
    proxy.#rtp.on('message', (message) => {
      const out = proxy.#flexible(message);
      if (out) proxy.#rtp.send(out, target.port, target.ip);
    });
    proxy.#rtcp.on('message', (message) => proxy.#rtcp.send(message, target.rtcpPort, target.ip));
    return proxy;
  }

  get port(): number {
    return this.#rtp.address().port;
  }

  get rtcpPort(): number {
    return this.#rtcp.address().port;
  }

  #flexible(packet: Buffer): Buffer | undefined {
    // ffmpeg's packets: 12-byte header, no CSRC, no extension, one descriptor byte (B/E bits).
    if (packet.length < 14 || (packet[0]! & 0x1f) !== 0) return undefined;
    const descriptor = packet[12]!;
    const timestamp = packet.readUInt32BE(4);
    if (timestamp !== this.#lastTimestamp) {
      this.#lastTimestamp = timestamp;
      this.#pictureId = (this.#pictureId + 1) & 0x7fff;
      this.#interFrame = !isVp9KeyFrameStart(packet.subarray(12));
    }
    // I P L F B E V Z: I=1, P per frame, L=1, F=1, B and E from ffmpeg.
    const first = 0x80 | (this.#interFrame ? 0x40 : 0) | 0x20 | 0x10 | (descriptor & 0x0c);
    const header = [first, 0x80 | (this.#pictureId >> 8), this.#pictureId & 0xff, 0x00, ...(this.#interFrame ? [0x02] : [])];
    return Buffer.concat([packet.subarray(0, 12), Buffer.from(header), packet.subarray(13)]);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rtp.close();
    this.#rtcp.close();
  }
}
