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
  /** Recorded; with --admission those admitted of the step's N. */
  interviews: number;
  /** --admission: of the step's N, those refused with 503 at_capacity. */
  refused?: number;
  seconds: number;
  machineBusyCores: number;
  /** Busy cores no measured group accounts for: other work on a shared machine. */
  otherCores: number;
  cores: number;
  cpu: Record<string, { cores: number; rssMB: number; pssMB: number }>;
  perInterview: { serviceCores: number; mediasoupCores: number; recorderCores: number; remuxCores: number; totalPipelineCores: number; pipelineRssMB: number; pipelinePssMB: number };
  loss: { ingest: number; udpDrops: number; audioToFile: number; videoToFile: number; worst: number; producerPackets: number; udpDatagrams: number; udpRcvbufErrors: number; pipelineSocketDrops: number; audioFramesMissing: number; videoFramesMissing: number };
  files: { checked: number; broken: number; problems: string[]; holes: string[] };
  /** failed: no URLs (in 300 s); endRequestsFailed: of those, the end request itself answered an error. */
  endToUrlsMs: { p50: number; p95: number; max: number; failed: number; endRequestsFailed?: number };
  progressive: { deliveredFiles: number; fallbackFiles: number; bytesAtEndMB: { p50: number; max: number } };
  /** Every interview of the step ended at the same instant: where the time to the URLs went. */
  end: EndTimings;
  /** The same load through the floors of the design, measured right after the step. */
  floors?: Partial<Record<FloorKind, FloorResult>>;
  /** Our pipeline's cores per interview as a multiple of each floor's. */
  ratioToFloor?: Partial<Record<FloorKind, number>>;
  /** The service process's CPU profile over the measuring window (--profile). */
  profile?: { file: string; top: ProfileEntry[] };
  verdict: 'ok' | 'loss' | 'broken' | 'cpu';
}

export interface Spread {
  p50: number;
  p95: number;
  max: number;
}

export interface EndTimings {
  /** From the first end request to the last recording stopped (every ffmpeg quit, trailers written). */
  allStoppedMs: number;
  /** Recordings that reported stopped (NaN above when one that was asked to stop never did). */
  stopped: number;
  /** Per interview: its end request sent → its completedAt (the request's way through this process's HTTP). */
  completedAtLagMs?: Spread;
  /** Per interview: its end request → its answer (the end stored in the database, the stop begun). */
  endStoredMs: Spread;
  /** Per interview: its end request → its recording stopped. */
  stopMs: Spread;
  /** Per interview: wall time inside object-store requests (any attempt) between its end and its URLs. */
  objectStoreMs: Spread;
  /** Per interview: end → URLs minus the object store's time (stop, remux tail, database, our waits). */
  oursMs: Spread;
  /** Per interview: its recording stopped → both files stored (remux tails, parts left, Complete). */
  stoppedToFilesMs: Spread;
  /** Per interview: both files stored → URLs stored (the database's complete, local clean-up). */
  filesToUrlsMs: Spread;
  /** Per file: finishing the live remux (its tail) after the stop. */
  remuxTailMs: Spread;
  /** Per file: the parts left for the end, and CompleteMultipartUpload + HeadObject. */
  partsMs: Spread;
  completeMs: Spread;
}

export type FloorKind = 'sfu' | 'ffmpeg';

export interface FloorResult {
  kind: FloorKind;
  interviews: number;
  seconds: number;
  machineBusyCores: number;
  otherCores?: number;
  cpu: Record<string, { cores: number; rssMB: number; pssMB: number }>;
  /** receiverCores: the UDP sink process ('sfu') or the bare ffmpegs ('ffmpeg'). */
  perInterview: { mediasoupCores: number; receiverCores: number; floorCores: number };
  /** What the receivers got: the sink's datagrams, or the bare ffmpegs' bytes on disk. */
  received: { packets?: number; bytes: number; emptyFiles?: number };
}

/** One function's self time in a CPU profile. */
export interface ProfileEntry {
  functionName: string;
  /** file:line, shortened to the project (or node:/native). */
  location: string;
  selfMs: number;
  /** Of the main thread's busy time (idle left out). */
  selfPercent: number;
}

export interface LongRun {
  endToUrlsMs: number;
  sizeMB: Record<string, number>;
  /** Per file: bytes and parts left for the end, the part uploads and CompleteMultipartUpload (+ HeadObject). */
  files: Array<{ kind: string; bytesAtEndMB: number; partsAtEnd: number; parts: number; remuxMs: number | undefined; partsMs: number; completeMs: number }>;
  writeSeconds: number;
  /** FILMSTRIP on: the filmstrip, made after the URLs are stored. */
  filmstrip?: FilmstripRun;
}

export interface FilmstripRun {
  status: string;
  error?: string;
  /** URLs stored → filmstrip stored (make + upload), and end → filmstrip stored. */
  afterUrlsMs: number;
  endToFilmstripMs: number;
  /** User + system CPU seconds of the filmstrip's two ffmpegs (their own -benchmark figure). */
  ffmpegCpuSeconds: number;
  /** The service process's CPU seconds over the same window (the key frame picking; an upper bound). */
  serviceCpuSeconds: number;
  /** The bench's exited children's CPU over the window (/proc cutime + cstime): the ffmpeg, its start included. */
  wholeFfmpegCpuSeconds: number;
  count: number;
  intervalSeconds: number;
  sizeKB: number;
}

export interface LongResult {
  minutes: number;
  speed: number;
  runs: LongRun[];
  p50: number;
  p95: number;
  max: number;
  completeMsMax: number;
  /** Whether the service made filmstrips (FILMSTRIP). */
  filmstrip: boolean;
  /** FILMSTRIP on: medians over the runs. */
  filmstripP50?: { afterUrlsMs: number; endToFilmstripMs: number; ffmpegCpuSeconds: number; serviceCpuSeconds: number; wholeFfmpegCpuSeconds: number; skipped: boolean };
}

/** What the interview's timeline costs (bench/timelineCost.ts). */
export interface TimelineCostResult {
  windowSeconds: number;
  reportsPerSecond: number;
  /** Alternating windows on one live interview: without reports, with, without, with. */
  windows: Array<{
    events: boolean;
    seconds: number;
    pipelineCores: number;
    serviceCores: number;
    mediasoupCores: number;
    recorderCores: number;
    remuxCores: number;
    /** The reporting page's own process: measured, not part of the pipeline. */
    reportingPageCores: number;
    machineBusyCores: number;
    accepted: number;
    refused: number;
  }>;
  /** Reports stored a second in the windows with reports (the page's rate as the service answered it). */
  reportsPerSecondStored: number;
  /** Means of the two windows each. */
  pipelineCores: { without: number; with: number; addedPercent: number };
  serviceCores: { without: number; with: number };
  serviceCpuMsPerReport: number;
  /** Without media: the service's CPU per stored report, from `pages` pages at 10 a second against an idle window. */
  perReport: { pages: number; seconds: number; accepted: number; refused: number; idleServiceCores: number; busyServiceCores: number; serviceCpuMsPerReport: number };
  /** The delivery's timeline work (media times + timeline.vtt) for logs of a given size, 3 runs each. */
  endToUrls: Array<{ label: string; entries: number; addedMsP50: number; addedMsMax: number; mediaTimesMsP50: number; vttMsP50: number }>;
}
