import { S3Client } from '@aws-sdk/client-s3';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { s3ClientConfig } from '../../server/storage/ObjectStore.ts';

/**
 * An S3 client for the embedded S3 server (or a proxy in front of it) at `endpoint`, configured as
 * the service configures its own. One attempt per request: a test sees each refusal, and the code
 * under test does its own retrying.
 */
export function embeddedS3Client(endpoint: string): S3Client {
  return new S3Client({
    ...s3ClientConfig({ endpoint, region: 'auto', bucket: 'interviews', accessKeyId: EmbeddedS3Server.accessKeyId, secretAccessKey: EmbeddedS3Server.secretAccessKey, publicBaseUrl: undefined }),
    maxAttempts: 1,
  });
}
