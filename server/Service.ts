import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Server as SocketIoServer } from 'socket.io';
import type { Config } from '../config/Config.ts';
import { loadServiceSecrets } from './auth/ServiceSecrets.ts';
import { RoleTokens } from './auth/RoleTokens.ts';
import { Database } from './db/Database.ts';
import { registerAdminRoutes } from './http/adminRoutes.ts';
import { registerErrorHandler } from './http/errorHandler.ts';
import { registerHealthRoutes } from './http/healthRoutes.ts';
import { InterviewService } from './lifecycle/InterviewService.ts';
import { WorkerPool } from './sfu/WorkerPool.ts';
import { EmbeddedS3Server } from './storage/EmbeddedS3Server.ts';
import { ObjectStore } from './storage/ObjectStore.ts';

export interface ServiceOptions {
  logger?: Logger;
}

/** The whole service: owns the database, object store, SFU workers, HTTP and signalling. */
export class Service {
  #closed = false;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly adminToken: string,
    readonly adminTokenGenerated: boolean,
    readonly database: Database,
    readonly objectStore: ObjectStore,
    readonly embeddedS3: EmbeddedS3Server | undefined,
    readonly workers: WorkerPool,
    readonly interviews: InterviewService,
    readonly http: FastifyInstance,
    readonly io: SocketIoServer,
  ) {}

  static async create(config: Config, options: ServiceOptions = {}): Promise<Service> {
    const logger = options.logger ?? pino({ level: config.logLevel });
    const secrets = loadServiceSecrets(config.dataDir, config.adminToken);
    const closers: Array<() => unknown> = [];
    try {
      const { database, appliedMigrations } = await Database.open(path.join(config.dataDir, 'interview-ingest.sqlite'));
      closers.push(() => database.close());
      if (appliedMigrations.length > 0) logger.info({ migrations: appliedMigrations }, 'database migrated');

      let embeddedS3: EmbeddedS3Server | undefined;
      if (!config.s3.endpoint) {
        embeddedS3 = await EmbeddedS3Server.start({ directory: path.join(config.dataDir, 'object-store'), bucket: config.s3.bucket });
        closers.push(() => embeddedS3?.close());
        logger.info({ endpoint: embeddedS3.endpoint }, 'embedded S3 server started (no S3_ENDPOINT configured)');
      }
      const objectStore = new ObjectStore({
        endpoint: config.s3.endpoint ?? embeddedS3!.endpoint,
        region: config.s3.region,
        bucket: config.s3.bucket,
        accessKeyId: config.s3.accessKeyId ?? EmbeddedS3Server.accessKeyId,
        secretAccessKey: config.s3.secretAccessKey ?? EmbeddedS3Server.secretAccessKey,
        publicBaseUrl: config.s3.publicBaseUrl,
      });
      closers.push(() => objectStore.close());
      if (embeddedS3) await objectStore.ensureBucket();

      const workers = await WorkerPool.create({
        size: config.mediasoup.workers,
        rtcMinPort: config.mediasoup.rtcMinPort,
        rtcMaxPort: config.mediasoup.rtcMaxPort,
        logger,
      });
      closers.push(() => workers.close());

      const interviews = new InterviewService(database);
      const http: FastifyInstance = Fastify({ loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger, bodyLimit: 1024 * 1024 });
      registerErrorHandler(http);
      registerHealthRoutes(http, [
        { name: 'database', check: () => database.isUp() },
        { name: 'objectStore', check: () => objectStore.isUp() },
        {
          name: 'mediasoup',
          check: () => ({ ok: workers.isUp(), workers: workers.workers.length, alive: workers.workers.filter((w) => !w.closed).length }),
        },
      ]);
      registerAdminRoutes(http, {
        interviews,
        roleTokens: new RoleTokens(secrets.roleTokenKey),
        adminToken: secrets.adminToken,
        publicUrl: config.publicUrl,
        roleTokenTtlSeconds: config.roleTokenTtlSeconds,
      });
      const io = new SocketIoServer(http.server, { serveClient: false, maxHttpBufferSize: 64 * 1024 });

      await http.listen({ port: config.port, host: config.host });
      return new Service(config, logger, secrets.adminToken, secrets.adminTokenGenerated, database, objectStore, embeddedS3, workers, interviews, http, io);
    } catch (error) {
      for (const close of closers.reverse()) await close();
      throw error;
    }
  }

  /** The URL this process listens on (PUBLIC_URL is what links use). */
  get localUrl(): string {
    const address = this.http.server.address();
    const port = typeof address === 'object' && address ? address.port : this.config.port;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.io.close();
    await this.http.close();
    this.workers.close();
    this.objectStore.close();
    await this.embeddedS3?.close();
    await this.database.close();
  }
}
