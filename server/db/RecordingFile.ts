import { BigIntType, EntitySchema } from '@mikro-orm/core';
import type { StoredPart } from '../../recorder-pipeline/progressive/ProgressiveUpload.ts';
import { RecordingFileStatus, type RecordingFileKind } from '../../shared/vocabulary.ts';

export { RECORDING_FILE_KINDS, RecordingFileStatus, type RecordingFileKind } from '../../shared/vocabulary.ts';

/** Where a recording file is kept in the bucket. */
export function recordingObjectKey(interviewId: string, kind: RecordingFileKind): string {
  return `interviews/${interviewId}/${kind}.webm`;
}

/** The interview and file kind of a recording's object key; undefined for any other key. */
export function parseRecordingObjectKey(key: string): { interviewId: string; kind: RecordingFileKind } | undefined {
  const match = /^interviews\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/(screen|candidate)\.webm$/.exec(key);
  return match ? { interviewId: match[1]!, kind: match[2] as RecordingFileKind } : undefined;
}

const allowedTransitions: Record<RecordingFileStatus, readonly RecordingFileStatus[]> = {
  [RecordingFileStatus.Recording]: [RecordingFileStatus.Finalized, RecordingFileStatus.Failed],
  [RecordingFileStatus.Finalized]: [RecordingFileStatus.Uploading],
  [RecordingFileStatus.Uploading]: [RecordingFileStatus.Uploaded, RecordingFileStatus.Failed],
  // Finalizing again after a failure redoes the work from what is on disk.
  [RecordingFileStatus.Failed]: [RecordingFileStatus.Finalized, RecordingFileStatus.Uploading],
  [RecordingFileStatus.Uploaded]: [],
};

function canMoveRecordingFile(from: RecordingFileStatus, to: RecordingFileStatus): boolean {
  return from === to || allowedTransitions[from].includes(to);
}

export class RecordingFile {
  id: string;
  interviewId: string;
  kind: RecordingFileKind;
  status: RecordingFileStatus = RecordingFileStatus.Recording;
  objectKey: string;
  sizeBytes = 0;
  uploadedBytes = 0;
  error: string | null = null;
  updatedAt: Date = new Date();
  /** A progressive (multipart) upload begun while recording; null when none is under way. */
  multipartUploadId: string | null = null;
  multipartPartSizeBytes: number | null = null;
  multipartParts: StoredPart[] = [];

  constructor(interviewId: string, kind: RecordingFileKind) {
    this.id = `${interviewId}/${kind}`;
    this.interviewId = interviewId;
    this.kind = kind;
    this.objectKey = recordingObjectKey(interviewId, kind);
  }

  moveTo(next: RecordingFileStatus): void {
    if (!canMoveRecordingFile(this.status, next)) throw new Error(`recording file ${this.id} cannot go from ${this.status} to ${next}`);
    this.status = next;
    this.updatedAt = new Date();
  }
}

export const RecordingFileSchema = new EntitySchema<RecordingFile>({
  class: RecordingFile,
  tableName: 'recording_files',
  properties: {
    id: { type: 'string', primary: true },
    interviewId: { type: 'string', index: true },
    kind: { type: 'string' },
    status: { enum: true, items: () => RecordingFileStatus },
    objectKey: { type: 'string' },
    // bigint columns on PostgreSQL (a file can pass 2 GiB), which pg returns as strings: read as numbers.
    sizeBytes: { type: new BigIntType('number'), default: 0 },
    uploadedBytes: { type: new BigIntType('number'), default: 0 },
    error: { type: 'text', nullable: true },
    updatedAt: { type: 'datetime' },
    multipartUploadId: { type: 'text', nullable: true },
    multipartPartSizeBytes: { type: 'integer', nullable: true },
    multipartParts: { type: 'json', default: '[]' },
  },
});
