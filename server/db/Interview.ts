import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';
import { InterviewStatus, assertTransition } from './InterviewStatus.ts';
import type { ScreenSource } from '../../shared/protocol.ts';
import type { RecordingGap } from '../../shared/vocabulary.ts';

const MAX_URL_LENGTH = 500;

export type { RecordingGap } from '../../shared/vocabulary.ts';

export class Interview {
  id: string = randomUUID();
  status: InterviewStatus = InterviewStatus.Created;
  candidateName: string | null = null;
  durationSeconds!: number;
  createdAt: Date = new Date();
  startedAt: Date | null = null;
  endsAt: Date | null = null;
  completedAt: Date | null = null;
  /** Public URL of screen.webm (screen + audio); empty until uploaded. */
  screenVideo = '';
  /** Public URL of candidate.webm (camera + audio); empty until uploaded. */
  candidateVideo = '';
  /** Stable URL of timeline.vtt (the interview's events as WebVTT, cues at their media times); empty until uploaded. */
  timelineVtt = '';
  score = 0;
  notes = '';
  failureReason: string | null = null;
  gaps: RecordingGap[] = [];
  /** When the recordings were deleted (on request or by retention); the URLs are emptied then. */
  recordingsDeletedAt: Date | null = null;
  /** What the candidate's page could tell about the shared screen (latest share); null before one. */
  screenSource: ScreenSource | null = null;
  /** The host app's own id for it (unique; a repeated create with it returns this interview). */
  externalId: string | null = null;
  /** Where the candidate goes after the end: an http(s) URL of an allowed origin, checked at creation. */
  returnUrl: string | null = null;
  /** The host app's small JSON object, stored and echoed (API answers, webhooks). */
  metadata: Record<string, unknown> | null = null;
  /** The NODE_ID that finalizes the ended interview (its claim), null when nobody does. */
  finalizingNode: string | null = null;
  /** Until when that claim holds unless renewed: past it another node may take the delivery up. */
  claimExpiresAt: Date | null = null;
  /** How many of its deliveries failed in a row (0 until one fails; kept once it completes). */
  failedDeliveries = 0;
  /**
   * When the service delivers the failed interview again by itself (FailedRetrySchedule); null when
   * no retry is due (none failed yet, or past the bound). Kept while a retry runs: only a `failed`
   * interview's value means anything.
   */
  nextRetryAt: Date | null = null;

  constructor(durationSeconds: number, candidateName: string | null, embedding: { externalId?: string | null; returnUrl?: string | null; metadata?: Record<string, unknown> | null } = {}) {
    this.durationSeconds = durationSeconds;
    this.candidateName = candidateName;
    this.externalId = embedding.externalId ?? null;
    this.returnUrl = embedding.returnUrl ?? null;
    this.metadata = embedding.metadata ?? null;
  }

  moveTo(next: InterviewStatus): void {
    assertTransition(this.status, next);
    this.status = next;
  }
}

export const InterviewSchema = new EntitySchema<Interview>({
  class: Interview,
  tableName: 'interviews',
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    status: { enum: true, items: () => InterviewStatus, default: InterviewStatus.Created },
    candidateName: { type: 'string', length: 200, nullable: true },
    durationSeconds: { type: 'integer' },
    createdAt: { type: 'datetime' },
    startedAt: { type: 'datetime', nullable: true },
    endsAt: { type: 'datetime', nullable: true },
    completedAt: { type: 'datetime', nullable: true },
    screenVideo: { type: 'string', length: MAX_URL_LENGTH, default: '' },
    candidateVideo: { type: 'string', length: MAX_URL_LENGTH, default: '' },
    timelineVtt: { type: 'text', default: '' },
    score: { type: 'integer', unsigned: true, default: 0 },
    notes: { type: 'text', default: '' },
    failureReason: { type: 'text', nullable: true },
    gaps: { type: 'json', default: '[]' },
    recordingsDeletedAt: { type: 'datetime', nullable: true },
    screenSource: { type: 'json', nullable: true },
    externalId: { type: 'string', length: 200, nullable: true, unique: true },
    returnUrl: { type: 'text', nullable: true },
    metadata: { type: 'json', nullable: true },
    finalizingNode: { type: 'string', nullable: true },
    claimExpiresAt: { type: 'datetime', nullable: true },
    failedDeliveries: { type: 'integer', default: 0 },
    nextRetryAt: { type: 'datetime', nullable: true },
  },
});
