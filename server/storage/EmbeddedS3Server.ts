import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type S3rver from 's3rver';

/**
 * An S3-compatible server on loopback, storing under DATA_DIR, for when no S3_ENDPOINT is
 * configured. The app talks to it through the same AWS SDK code path it uses for R2.
 */
export class EmbeddedS3Server {
  static readonly accessKeyId = 'S3RVER';
  static readonly secretAccessKey = 'S3RVER';
  readonly #server: S3rver;
  readonly endpoint: string;
  #closed = false;

  private constructor(server: S3rver, endpoint: string) {
    this.#server = server;
    this.endpoint = endpoint;
  }

  /** port 0 picks a free port. */
  static async start(options: { directory: string; bucket: string; port?: number }): Promise<EmbeddedS3Server> {
    fs.mkdirSync(options.directory, { recursive: true });
    // Loaded only here: a service with S3_ENDPOINT set (R2, any S3) never loads it (about 0.15 s of
    // CPU at every start otherwise).
    const { default: S3rverServer } = await import('s3rver');
    const server = new S3rverServer({
      port: options.port ?? 0,
      address: '127.0.0.1',
      silent: true,
      directory: options.directory,
      configureBuckets: [{ name: options.bucket, configs: [] }],
    });
    const address = (await server.run()) as AddressInfo;
    return new EmbeddedS3Server(server, `http://127.0.0.1:${address.port}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#server.close();
  }
}
