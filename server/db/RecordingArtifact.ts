import { BigIntType, EntitySchema } from '@mikro-orm/core';

/**
 * Files made from a recording after its two videos are stored (the filmstrip; the timeline's
 * WebVTT can be another): each stored beside the videos under the interview's key prefix, with its
 * own status, so a missing one never holds up or fails the interview's delivery.
 */
export const RecordingArtifactStatus = {
  /** To be made (the videos' URLs are stored or about to be). */
  Pending: 'pending',
  Stored: 'stored',
  /** Could not be made or stored; `error` says why. The interview is complete without it. */
  Failed: 'failed',
} as const;
export type RecordingArtifactStatus = (typeof RecordingArtifactStatus)[keyof typeof RecordingArtifactStatus];

const allowedTransitions: Record<RecordingArtifactStatus, readonly RecordingArtifactStatus[]> = {
  [RecordingArtifactStatus.Pending]: [RecordingArtifactStatus.Stored, RecordingArtifactStatus.Failed],
  [RecordingArtifactStatus.Stored]: [],
  [RecordingArtifactStatus.Failed]: [],
};

function canMoveRecordingArtifact(from: RecordingArtifactStatus, to: RecordingArtifactStatus): boolean {
  return from === to || allowedTransitions[from].includes(to);
}

/** An artifact's file name in the bucket: lower-case name and extension (`filmstrip.jpg`, `timeline.vtt`). */
const ARTIFACT_FILE = /^[a-z][a-z0-9-]{0,31}\.[a-z0-9]{1,8}$/;

/** Where an artifact is kept: beside the recordings, `interviews/<id>/<file>`. */
function artifactObjectKey(interviewId: string, fileName: string): string {
  if (!ARTIFACT_FILE.test(fileName) || fileName === 'screen.webm' || fileName === 'candidate.webm') throw new Error(`not an artifact file name: ${fileName}`);
  return `interviews/${interviewId}/${fileName}`;
}

/** The interview and file name of an artifact's object key; undefined for any other key. */
export function parseArtifactObjectKey(key: string): { interviewId: string; fileName: string } | undefined {
  const match = /^interviews\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/([^/]+)$/.exec(key);
  if (!match || !ARTIFACT_FILE.test(match[2]!) || match[2] === 'screen.webm' || match[2] === 'candidate.webm') return undefined;
  return { interviewId: match[1]!, fileName: match[2]! };
}

export class RecordingArtifact {
  id: string;
  interviewId: string;
  /** Which artifact (`filmstrip`); one row per name and interview. */
  name: string;
  status: RecordingArtifactStatus = RecordingArtifactStatus.Pending;
  objectKey: string;
  contentType: string;
  sizeBytes = 0;
  /** What a reader needs besides the file (the filmstrip's layout). */
  details: Record<string, unknown> | null = null;
  error: string | null = null;
  updatedAt: Date = new Date();

  constructor(interviewId: string, name: string, fileName: string, contentType: string) {
    this.id = `${interviewId}/${name}`;
    this.interviewId = interviewId;
    this.name = name;
    this.objectKey = artifactObjectKey(interviewId, fileName);
    this.contentType = contentType;
  }

  moveTo(next: RecordingArtifactStatus): void {
    if (!canMoveRecordingArtifact(this.status, next)) throw new Error(`recording artifact ${this.id} cannot go from ${this.status} to ${next}`);
    this.status = next;
    this.updatedAt = new Date();
  }
}

export const RecordingArtifactSchema = new EntitySchema<RecordingArtifact>({
  class: RecordingArtifact,
  tableName: 'recording_artifacts',
  properties: {
    id: { type: 'string', primary: true },
    interviewId: { type: 'string', index: true },
    name: { type: 'string' },
    status: { enum: true, items: () => RecordingArtifactStatus },
    objectKey: { type: 'string' },
    contentType: { type: 'string' },
    sizeBytes: { type: new BigIntType('number'), default: 0 },
    details: { type: 'json', nullable: true },
    error: { type: 'text', nullable: true },
    updatedAt: { type: 'datetime' },
  },
});
