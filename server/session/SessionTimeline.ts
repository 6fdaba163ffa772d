import type { Logger } from 'pino';
import { trackNames } from '../../recorder-pipeline/tracks.ts';
import type { TimelineEvent } from '../../shared/timeline.ts';
import type { GapCause } from '../../shared/vocabulary.ts';
import type { EndCause } from '../lifecycle/InterviewService.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import { InterviewTimeline } from '../timeline/InterviewTimeline.ts';
import { PacketLossDetector } from '../timeline/packetLoss.ts';
import { uploadTimelineVtt } from '../timeline/timelineFile.ts';
import { summarizeTimeline } from '../timeline/timelineStore.ts';
import type { SessionContext } from './SessionContext.ts';

/** How often the candidate's uplink loss is sampled from the producers' counters (cheap: one worker request per track). */
const LOSS_SAMPLE_MS = 2000;

/**
 * What one session writes into its interview's event log, and when: the session says what happened
 * (a gap closed, the candidate came back, the interview went live or ended) and this part turns it
 * into timeline entries. The log itself (`InterviewTimeline`) knows nothing of rooms or recordings.
 */
export class SessionTimeline {
  /** The interview's event log (signalling writes the candidate's reports to it directly). */
  readonly log: InterviewTimeline;
  readonly #packetLoss = new PacketLossDetector();

  constructor(interviewId: string, context: SessionContext, logger: Logger) {
    this.log = new InterviewTimeline({
      interviewId,
      database: context.database,
      recordingDir: context.recordingDirOf(interviewId),
      logger,
      webhooks: context.webhooks,
      flagKinds: context.flagEvents,
      limits: context.reportLimits,
    });
  }

  /** A gap in the recording was closed (its end is known now): it is marked where it began. */
  gapClosed(gap: { start: Date; end: Date; cause: GapCause }): void {
    void this.log.record('recording_gap', { cause: gap.cause, seconds: Math.round((gap.end.getTime() - gap.start.getTime()) / 100) / 10, end: gap.end.toISOString() }, gap.start);
  }

  /** Back during a live interview (a reload, a dropped connection, or a new tab taking over). */
  candidateReconnected(replacedTab: boolean): void {
    void this.log.record('candidate_reconnected', { replacedTab });
  }

  candidateDisconnected(): void {
    void this.log.record('candidate_disconnected');
  }

  live(at: Date): void {
    void this.log.record('interview_live', {}, at);
  }

  /** The end: the candidate's page may report nothing more; the node that stored the end writes it. */
  ended(cause: EndCause, at: Date, endedHere: boolean): void {
    this.log.closeForReports();
    if (endedHere) void this.log.record('interview_ended', { cause }, at);
  }

  /**
   * Samples the candidate's uplink loss on `room` while it is open; the log gets its lasting
   * changes (`active` false: the interview is over, nothing is sampled). Returns the stop.
   */
  watchLoss(room: InterviewRoom, active: () => boolean): () => void {
    const sampler = setInterval(() => {
      if (!room.closed && active()) void this.#sampleLoss(room);
    }, LOSS_SAMPLE_MS);
    sampler.unref();
    return () => clearInterval(sampler);
  }

  /** The candidate's uplink loss over the last sample (all tracks' producers). */
  async #sampleLoss(room: InterviewRoom): Promise<void> {
    let lost = 0;
    let received = 0;
    for (const track of trackNames) {
      const producer = room.getProducer(track);
      if (!producer || producer.closed) continue;
      for (const stat of await producer.getStats().catch(() => [])) {
        lost += stat.packetsLost;
        received += stat.packetCount;
      }
    }
    const decided = this.#packetLoss.sample(lost, received);
    if (decided) void this.log.record(decided.change === 'high' ? 'packet_loss_high' : 'packet_loss_recovered', { percent: Math.round(decided.loss * 1000) / 10 });
  }

  /**
   * At delivery, once the recordings are stored: the media times from the finalized segments, then
   * the log as WebVTT beside the recordings. Returns the events and the file's object key.
   */
  async deliver(objectStore: ObjectStore, retryWindowMs: number, logger: Logger): Promise<{ events: TimelineEvent[]; vttKey: string }> {
    const events = await this.log.recomputeMediaTimes();
    const vttKey = await uploadTimelineVtt(objectStore, this.log.interviewId, events, {
      retryWindowMs,
      onRetry: (error, attempt) => logger.warn({ err: error.message, attempt }, 'storing timeline.vtt failed; retrying'),
    });
    return { events, vttKey };
  }

  /** Counts by kind for the completion (webhook, API); an unreadable log summarizes as empty. */
  async summary(events: TimelineEvent[] | undefined, logger: Logger): Promise<ReturnType<typeof summarizeTimeline>> {
    events ??= await this.log.recomputeMediaTimes().catch((error: unknown) => {
      logger.warn({ err: error }, 'could not read the timeline for its summary');
      return [];
    });
    return summarizeTimeline(events);
  }

  /** Shutdown: the dropped reports' count is stored, then the log lets go. */
  close(): void {
    void this.log.flushDropped().finally(() => this.log.close());
  }
}
