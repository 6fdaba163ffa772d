import { CreateBucketCommand, HeadBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface ObjectStoreSettings {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where objects can be fetched publicly; undefined → served through this service. */
  publicBaseUrl: string | undefined;
}

/**
 * Settings that work with R2 and with local S3 servers alike: path-style addressing, and
 * checksums only when an operation requires them (R2's support for the SDK's default CRC32
 * checksums has broken before, and s3rver stores aws-chunked framing inside objects).
 */
export function s3ClientConfig(settings: ObjectStoreSettings): S3ClientConfig {
  return {
    endpoint: settings.endpoint,
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  };
}

/** The bucket the recordings go to, reached only through the S3 API. */
export class ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly #publicBaseUrl: string | undefined;

  constructor(readonly settings: ObjectStoreSettings) {
    this.client = new S3Client(s3ClientConfig(settings));
    this.bucket = settings.bucket;
    this.#publicBaseUrl = settings.publicBaseUrl;
  }

  async isUp(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: AbortSignal.timeout(3000) });
      return true;
    } catch {
      return false;
    }
  }

  async ensureBucket(): Promise<void> {
    if (await this.isUp()) return;
    await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
  }

  /** The URL stored on the interview for `key`: public bucket URL when configured, else ours. */
  publicUrlFor(key: string, serviceUrl: string): string {
    const encodedKey = key.split('/').map(encodeURIComponent).join('/');
    return this.#publicBaseUrl ? `${this.#publicBaseUrl}/${encodedKey}` : `${serviceUrl}/media/${encodedKey}`;
  }

  close(): void {
    this.client.destroy();
  }
}
