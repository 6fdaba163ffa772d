import { GetObjectCommand, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { AppError } from '../errors.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';

/**
 * GET /media/<key>: streams a stored recording from the object store, honouring Range so a
 * browser can seek. Used for the stored URLs when no S3_PUBLIC_BASE_URL is configured. Keys hold
 * the interview's random id, so the URL itself is the capability, as with a public bucket URL.
 */
export function registerMediaRoutes(app: FastifyInstance, objectStore: ObjectStore): void {
  app.get('/media/*', async (request, reply) => {
    const key = (request.params as { '*': string })['*'];
    if (!/^interviews\/[0-9a-f-]{36}\/(screen|candidate)\.webm$/.test(key)) throw new AppError('not_found', 'no such recording');
    const range = typeof request.headers.range === 'string' && /^bytes=\d*-\d*$/.test(request.headers.range) ? request.headers.range : undefined;
    let object: GetObjectCommandOutput;
    try {
      object = await objectStore.client.send(new GetObjectCommand({ Bucket: objectStore.bucket, Key: key, Range: range }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) throw new AppError('not_found', 'no such recording');
      if (status === 416) return reply.code(416).send({ error: 'invalid_input', message: 'range not satisfiable', field: 'range' });
      throw new AppError('unavailable', 'the object store is unreachable');
    }
    reply.header('accept-ranges', 'bytes');
    reply.header('content-type', object.ContentType ?? 'video/webm');
    if (object.ContentLength !== undefined) reply.header('content-length', object.ContentLength);
    if (object.ETag) reply.header('etag', object.ETag);
    if (object.ContentRange) {
      reply.code(206);
      reply.header('content-range', object.ContentRange);
    }
    return reply.send(object.Body as Readable);
  });
}
