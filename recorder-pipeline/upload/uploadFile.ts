import fs from 'node:fs';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { abortIfPermanent, withRetries } from '../retryPolicy.ts';

export interface UploadDestination {
  client: S3Client;
  bucket: string;
  /** Every part but the last has exactly this size (R2 requires equal parts, ≥ 5 MiB). */
  partSizeBytes: number;
}

export interface UploadFileOptions {
  file: string;
  key: string;
  contentType: string;
  /** Transient failures are retried with backoff for this long, then the last error is thrown. */
  retryWindowMs: number;
  onProgress?: (uploadedBytes: number, totalBytes: number) => void;
  onRetry?: (error: Error, attempt: number) => void;
  signal?: AbortSignal;
}

export class UploadVerificationError extends Error {
  constructor(readonly key: string, readonly expected: number, readonly stored: number | undefined) {
    super(`stored object ${key} has ${stored ?? 'no'} bytes, expected ${expected}`);
    this.name = 'UploadVerificationError';
  }
}

/**
 * Multipart-uploads a local file with lib-storage and verifies the stored size, retrying transient
 * failures with exponential backoff. Resolves only once the object is known to be complete.
 */
export async function uploadFile(destination: UploadDestination, options: UploadFileOptions): Promise<{ sizeBytes: number }> {
  const sizeBytes = (await fs.promises.stat(options.file)).size;
  const attempt = async () => {
    const upload = new Upload({
      client: destination.client,
      params: { Bucket: destination.bucket, Key: options.key, Body: fs.createReadStream(options.file), ContentType: options.contentType, ContentLength: sizeBytes },
      partSize: destination.partSizeBytes,
      queueSize: 2,
      // Some S3 servers (s3rver) lack AbortMultipartUpload; aborting would hide the real error.
      leavePartsOnError: true,
    });
    if (options.onProgress) upload.on('httpUploadProgress', (progress) => options.onProgress!(progress.loaded ?? 0, sizeBytes));
    try {
      await upload.done();
    } catch (error) {
      throw abortIfPermanent(error);
    }
    const head = await destination.client.send(new HeadObjectCommand({ Bucket: destination.bucket, Key: options.key }));
    if (head.ContentLength !== sizeBytes) throw new UploadVerificationError(options.key, sizeBytes, head.ContentLength);
    options.onProgress?.(sizeBytes, sizeBytes);
  };
  await withRetries(attempt, { windowMs: options.retryWindowMs, signal: options.signal, onRetry: options.onRetry });
  return { sizeBytes };
}
