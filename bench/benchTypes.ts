// What the bench's parts hand each other: the environment a run works in and the results the
// report draws. Kept apart so run, longRecording and report depend on it and not on each other.
import type { ChildProcess } from 'node:child_process';
import type { Service } from '../server/Service.ts';

export interface BenchEnvironment {
  service: Service;
  s3: { process: ChildProcess; endpoint: string };
  dataRoot: string;
}

/** One step of the ramp: N interviews for a while, measured. */
export interface StepResult {
  interviews: number;
  seconds: number;
  machineBusyCores: number;
  cores: number;
  cpu: Record<string, { cores: number; rssMB: number; pssMB: number }>;
  perInterview: { serviceCores: number; mediasoupCores: number; recorderCores: number; remuxCores: number; totalPipelineCores: number; pipelineRssMB: number; pipelinePssMB: number };
  loss: { ingest: number; udpDrops: number; audioToFile: number; videoToFile: number; worst: number; producerPackets: number; udpDatagrams: number; udpRcvbufErrors: number; pipelineSocketDrops: number; audioFramesMissing: number; videoFramesMissing: number };
  files: { checked: number; broken: number; problems: string[]; holes: string[] };
  endToUrlsMs: { p50: number; p95: number; max: number; failed: number };
  progressive: { deliveredFiles: number; fallbackFiles: number; bytesAtEndMB: { p50: number; max: number } };
  verdict: 'ok' | 'loss' | 'broken' | 'cpu';
}

export interface LongRun {
  endToUrlsMs: number;
  sizeMB: Record<string, number>;
  /** Per file: bytes and parts left for the end, the part uploads and CompleteMultipartUpload (+ HeadObject). */
  files: Array<{ kind: string; bytesAtEndMB: number; partsAtEnd: number; parts: number; remuxMs: number | undefined; partsMs: number; completeMs: number }>;
  writeSeconds: number;
}

export interface LongResult {
  minutes: number;
  speed: number;
  runs: LongRun[];
  p50: number;
  p95: number;
  max: number;
  completeMsMax: number;
}
