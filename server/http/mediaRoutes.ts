import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { parseTimelineObjectKey } from '../db/TimelineEntry.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { MediaSignatures } from '../auth/MediaSignatures.ts';
import type { Database } from '../db/Database.ts';
import { RecordingArtifact, RecordingArtifactStatus, parseArtifactObjectKey } from '../db/RecordingArtifact.ts';
import { RecordingFile, RecordingFileStatus, parseRecordingObjectKey } from '../db/RecordingFile.ts';
import { AppError } from '../errors.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';
import { isAdmin, requireRoleFor } from './requestAuth.ts';
import type { RoleTokens } from '../auth/RoleTokens.ts';
import { routeSchema } from './apiSchemas.ts';
import { parseByteRange } from './byteRange.ts';

export interface MediaRoutesOptions {
  objectStore: ObjectStore;
  /** Where the uploaded recordings' sizes are stored (a Range then costs one object-store call). */
  database: Database;
  signatures: MediaSignatures;
  roleTokens: RoleTokens;
  adminToken: string;
}

/**
 * Who may fetch a recording: the holder of a signed URL that has not expired (what the pages
 * get), or a request carrying the admin token or a role token of that interview in
 * `Authorization: Bearer`. The id in the URL alone is not enough: it is in every link.
 */
function authorize(request: FastifyRequest, key: string, interviewId: string, options: MediaRoutesOptions): void {
  const query = request.query as Record<string, unknown>;
  if (query.signature !== undefined || query.expires !== undefined) {
    const check = options.signatures.check(key, query.expires, query.signature);
    if (check === 'valid') return;
    throw new AppError('forbidden', check === 'expired' ? 'this recording link has expired; reload the page for a fresh one' : 'this recording link is not valid');
  }
  if (isAdmin(request, options.adminToken)) return;
  if (!request.headers.authorization) throw new AppError('unauthorized', 'a signed recording URL or Authorization: Bearer <admin or role token> is required');
  requireRoleFor(request, options.roleTokens, interviewId);
}

/**
 * GET /media/<key>: streams a stored recording (or a file stored beside it: the filmstrip) from the
 * object store, honouring Range so a browser can seek. Used for the stored URLs when no S3_PUBLIC_BASE_URL is configured.
 */
export function registerMediaRoutes(app: FastifyInstance, options: MediaRoutesOptions): void {
  const { objectStore, database } = options;
  /** The size the finalizer stored with an uploaded recording; undefined: ask the object store. */
  const storedSizeOf = async (key: string, interviewId: string, kind: RecordingFile['kind'] | undefined): Promise<number | undefined> => {
    try {
      if (!kind) {
        const artifact = await database.em().findOne(RecordingArtifact, { interviewId, objectKey: key });
        return artifact?.status === RecordingArtifactStatus.Stored && artifact.sizeBytes > 0 ? artifact.sizeBytes : undefined;
      }
      const file = await database.em().findOne(RecordingFile, { interviewId, kind });
      // Uploaded, and the object's size (what the upload sent) is the file's.
      return file?.status === RecordingFileStatus.Uploaded && file.sizeBytes > 0 && file.uploadedBytes === file.sizeBytes ? file.sizeBytes : undefined;
    } catch {
      // The database is slow or down: the object store still knows.
      return undefined;
    }
  };
  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const key = (request.params as { '*': string })['*'];
    // A recording, the timeline.vtt or another file stored beside them (the filmstrip): the same signatures and rules.
    const file = parseRecordingObjectKey(key);
    const timeline = file ? undefined : parseTimelineObjectKey(key);
    const recording = file ?? timeline ?? parseArtifactObjectKey(key);
    if (!recording) throw new AppError('not_found', 'no such recording');
    const kind = file?.kind;
    const defaultType = kind ? 'video/webm' : timeline ? 'text/vtt; charset=utf-8' : 'application/octet-stream';
    authorize(request, key, recording.interviewId, options);
    const header = typeof request.headers.range === 'string' ? request.headers.range : undefined;
    try {
      if (request.method === 'HEAD') {
        const head = await objectStore.client.send(new HeadObjectCommand({ Bucket: objectStore.bucket, Key: key }));
        reply.header('accept-ranges', 'bytes').header('content-type', head.ContentType ?? defaultType).header('cache-control', 'private, no-store');
        if (head.ContentLength !== undefined) reply.header('content-length', head.ContentLength);
        if (head.ETag) reply.header('etag', head.ETag);
        return reply.send();
      }
      let rangeHeader: string | undefined;
      if (header !== undefined) {
        const size = (await storedSizeOf(key, recording.interviewId, kind)) ?? (await objectStore.client.send(new HeadObjectCommand({ Bucket: objectStore.bucket, Key: key }))).ContentLength ?? 0;
        const range = parseByteRange(header, size);
        if (range === 'unsatisfiable') {
          return reply.code(416).header('content-range', `bytes */${size}`).send({ error: 'invalid_input', message: 'range not satisfiable', field: 'range' });
        }
        if (range) rangeHeader = `bytes=${range.start}-${range.end}`;
      }
      const object = await objectStore.client.send(new GetObjectCommand({ Bucket: objectStore.bucket, Key: key, Range: rangeHeader }));
      reply.header('accept-ranges', 'bytes');
      reply.header('content-type', object.ContentType ?? defaultType);
      reply.header('cache-control', 'private, no-store');
      if (object.ContentLength !== undefined) reply.header('content-length', object.ContentLength);
      if (object.ETag) reply.header('etag', object.ETag);
      if (rangeHeader && object.ContentRange) {
        reply.code(206);
        reply.header('content-range', object.ContentRange);
      }
      return reply.send(object.Body as Readable);
    } catch (error) {
      if (error instanceof AppError) throw error;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) throw new AppError('not_found', 'no such recording');
      throw new AppError('unavailable', 'the object store is unreachable');
    }
  };
  // HEAD answers from HeadObject (Fastify's automatic HEAD would fetch the whole object and drop it).
  const schema = routeSchema({
    summary: 'A stored recording (Range honoured): for a signed URL (?expires&signature), the admin token or a role token of its interview',
    tag: 'pages',
    responses: {
      200: { description: 'The whole file' },
      206: { description: 'The requested range' },
      401: { description: 'No signature and no token' },
      403: { description: 'Expired or wrong signature, or another interview’s token' },
      404: { description: 'No such recording' },
      416: { description: 'Range not satisfiable' },
    },
  });
  app.route({ method: ['GET', 'HEAD'], url: '/media/*', exposeHeadRoute: false, schema, handler: serve });
}
