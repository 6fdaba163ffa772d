import fs from 'node:fs/promises';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { abortIfPermanent, withRetries } from '../retryPolicy.ts';
import { UploadVerificationError, type UploadDestination } from './uploadFile.ts';

/** Larger files go through uploadFile (multipart). */
const PUT_FILE_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Stores a small file (a filmstrip, a WebVTT) in one PutObject with a Buffer body (never a stream:
 * some servers store aws-chunked framing inside the object), verifies the stored size, and retries
 * transient failures with the pipeline's one retry policy. No part size applies: lib-storage would
 * refuse a configured part size under 5 MiB even for a file of a few KB.
 */
export async function putFile(
  destination: Pick<UploadDestination, 'client' | 'bucket'>,
  options: { file: string; key: string; contentType: string; retryWindowMs: number; signal?: AbortSignal; onRetry?: (error: Error, attempt: number) => void },
): Promise<{ sizeBytes: number }> {
  const { file, ...rest } = options;
  const body = await fs.readFile(file);
  if (body.length > PUT_FILE_MAX_BYTES) throw new Error(`${file} is ${body.length} bytes, more than one PutObject is used for`);
  return putBody(destination, { ...rest, body });
}

/** As putFile, for bytes already in memory (timeline.vtt). */
export async function putBody(
  destination: Pick<UploadDestination, 'client' | 'bucket'>,
  options: { body: Buffer; key: string; contentType: string; retryWindowMs: number; signal?: AbortSignal; onRetry?: (error: Error, attempt: number) => void },
): Promise<{ sizeBytes: number }> {
  const { body } = options;
  const attempt = async () => {
    try {
      await destination.client.send(new PutObjectCommand({ Bucket: destination.bucket, Key: options.key, Body: body, ContentType: options.contentType, ContentLength: body.length }), {
        abortSignal: options.signal,
      });
      const head = await destination.client.send(new HeadObjectCommand({ Bucket: destination.bucket, Key: options.key }), { abortSignal: options.signal });
      if (head.ContentLength !== body.length) throw new UploadVerificationError(options.key, body.length, head.ContentLength);
    } catch (error) {
      throw abortIfPermanent(error);
    }
  };
  await withRetries(attempt, { windowMs: options.retryWindowMs, signal: options.signal, onRetry: options.onRetry });
  return { sizeBytes: body.length };
}
