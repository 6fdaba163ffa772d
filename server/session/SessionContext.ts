import type { Logger } from 'pino';
import type { PortRange } from '../../recorder-pipeline/ffmpeg/udpPorts.ts';
import type { TimelineEventKind } from '../../shared/timeline.ts';
import type { Database } from '../db/Database.ts';
import type { RecordingArtifacts } from '../delivery/RecordingArtifacts.ts';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import type { ReportLimits } from '../timeline/ReportAllowance.ts';
import type { WebhookOutbox } from '../webhooks/WebhookOutbox.ts';
import type { SessionOwnership } from './SessionOwnership.ts';

/** What every session of a service shares. */
export interface SessionContext {
  database: Database;
  interviews: InterviewService;
  objectStore: ObjectStore;
  /** Opens a room for the interview on the least-loaded worker. */
  createRoom: (interviewId: string) => Promise<InterviewRoom>;
  /** The interview's recording directory. */
  recordingDirOf: (interviewId: string) => string;
  /** mediasoup's RTC ports, which the recorder's ffmpeg must not pick. */
  rtcPortRange: PortRange;
  partSizeBytes: number;
  retryWindowMs: number;
  publicUrl: string;
  /** Upload while recording (default true); false: everything is uploaded after the end. */
  progressiveUpload: boolean;
  /** Ship the growing segments to the object store this often (RECORDING_JOURNAL_SECONDS); 0: off. */
  journalIntervalMs: number;
  webhooks?: WebhookOutbox | undefined;
  /** Which node acts for an interview (cluster mode: its lease); unset: this one, always. */
  ownership?: SessionOwnership | undefined;
  /** The name this node claims finalizations under in the database (NODE_ID; one fixed name on a single node). */
  nodeId: string;
  /** How long a finalization claim holds without renewal (FINALIZATION_CLAIM_TTL_MS unless a test shortens it). */
  finalizationClaimMs?: number | undefined;
  /** Timeline kinds that send `interview.flagged` (FLAG_EVENTS). */
  flagEvents?: ReadonlySet<TimelineEventKind> | undefined;
  /** What a candidate page may report (default ~10/s, burst 50, 2,000 per interview). */
  reportLimits?: ReportLimits | undefined;
  /** Files made from the recording once its URLs are stored (the filmstrip); unset: none. */
  artifacts?: RecordingArtifacts | undefined;
  logger: Logger;
}
