import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { FfmpegProcess } from './FfmpegProcess.ts';
import { boundUdpPorts } from './udpPorts.ts';

export interface RecorderProcessOptions {
  sdpPath: string;
  /** screen video (input stream 0) + audio (stream 2). */
  screenPath: string;
  /** camera video (input stream 1) + audio (stream 2). */
  candidatePath: string;
  /** The SDP's RTP ports; ffmpeg binds each and port + 1 before it can receive anything. */
  rtpPorts: readonly number[];
  logger: Logger;
  listenTimeoutMs?: number;
}

/**
 * Starts one ffmpeg reading the recording SDP and writing the two WebM files of a segment,
 * stream-copied, and resolves once it has bound every RTP and RTCP port of the SDP.
 *
 * - `-copyinkf`: ffmpeg 5.1's RTP VP9 depacketizer never flags key frames; without it no video is
 *   written at all. The finalize pass restores the flags (and with them Cues).
 * - `-cluster_time_limit 1000 -flush_packets 1`: a SIGKILL loses at most the last second; without
 *   the flush whole 256 KiB buffers were lost.
 * - no `-live 1`: it never writes a duration, even on a clean exit.
 */
/** ffmpeg's wait for a missing RTP packet (µs): covers a NACK repair from a candidate ~400 ms away. */
const MAX_REORDER_DELAY_US = 700_000;

export async function startRecorderProcess(options: RecorderProcessOptions): Promise<FfmpegProcess> {
  const recorder = await FfmpegProcess.start({
    inputs: [
      {
        path: options.sdpPath,
        options: [
          '-hide_banner',
          '-nostats',
          '-loglevel', 'warning',
          '-protocol_whitelist', 'file,udp,rtp',
          // A larger socket buffer absorbs key frame bursts while ffmpeg is busy writing.
          '-buffer_size', String(4 * 1024 * 1024),
          // How long the RTP demuxer waits for a missing packet before it moves on (default 100 ms):
          // a NACK retransmission takes a round trip to the candidate and back, so a candidate
          // 100 ms away had frames written with holes (2 undecodable per 20 s at 3 % loss).
          '-max_delay', String(MAX_REORDER_DELAY_US),
        ],
      },
    ],
    outputs: [
      { path: options.screenPath, options: outputOptions(0) },
      { path: options.candidatePath, options: outputOptions(1) },
    ],
    logger: options.logger,
  });
  try {
    await waitUntilListening(recorder, options.rtpPorts, options.listenTimeoutMs ?? 5000);
  } catch (error) {
    await recorder.kill();
    throw new Error(`${(error as Error).message}; ffmpeg said: ${recorder.stderrTail.slice(-5).join(' | ')}`);
  }
  return recorder;
}

async function waitUntilListening(recorder: FfmpegProcess, rtpPorts: readonly number[], timeoutMs: number): Promise<void> {
  const wanted = rtpPorts.flatMap((port) => [port, port + 1]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (recorder.hasExited) throw new Error('ffmpeg exited before it listened on its RTP ports');
    const bound = await boundUdpPorts();
    if (wanted.every((port) => bound.has(port))) return;
    if (Date.now() > deadline) throw new Error(`ffmpeg did not bind its RTP ports within ${timeoutMs} ms`);
    await delay(20);
  }
}

function outputOptions(videoStream: 0 | 1): string[] {
  return [
    '-map', `0:${videoStream}`,
    '-map', '0:2',
    '-c', 'copy',
    '-copyinkf',
    '-f', 'webm',
    '-cluster_time_limit', '1000',
    '-flush_packets', '1',
    '-y',
  ];
}
