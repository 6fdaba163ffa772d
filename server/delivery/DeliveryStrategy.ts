import type { RecordingFileKind } from '../db/RecordingFile.ts';
import type { ProgressListener } from './RecordingFiles.ts';

/**
 * One way of getting a stopped recording's files into the object store. The delivery tries its
 * strategies in order; each delivers what it can of the files still pending and says which.
 */
export interface DeliveryStrategy {
  readonly name: 'progressive' | 'whole_file';
  /** Delivers some or all of `pending`; returns the kinds now uploaded. */
  deliver(report: ProgressListener, pending: readonly RecordingFileKind[]): Promise<RecordingFileKind[]>;
}
