import path from 'node:path';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createLogger } from './logging.ts';
import { Server as SocketIoServer } from 'socket.io';
import type { Config } from '../config/Config.ts';
import { loadServiceSecrets } from './auth/ServiceSecrets.ts';
import { MediaSignatures } from './auth/MediaSignatures.ts';
import { RoleTokens } from './auth/RoleTokens.ts';
import { Database } from './db/Database.ts';
import { registerAdminRoutes } from './http/adminRoutes.ts';
import { registerErrorHandler } from './http/errorHandler.ts';
import { registerHealthRoutes } from './http/healthRoutes.ts';
import { registerPageRoutes } from './http/pageRoutes.ts';
import { InterviewFinalizer } from './lifecycle/InterviewFinalizer.ts';
import { InterviewService } from './lifecycle/InterviewService.ts';
import { InterviewStatus } from './lifecycle/InterviewStatus.ts';
import { InterviewTimers } from './lifecycle/InterviewTimers.ts';
import { RecordingDeletion } from './lifecycle/RecordingDeletion.ts';
import { registerMetricsRoutes } from './http/metricsRoutes.ts';
import { createServiceGauges } from './metrics/serviceGauges.ts';
import { WebhookOutbox } from './webhooks/WebhookOutbox.ts';
import { RecordingCoordinator } from './lifecycle/RecordingCoordinator.ts';
import { registerMediaRoutes } from './http/mediaRoutes.ts';
import { registerRecordingRoutes } from './http/recordingRoutes.ts';
import { finalizeRecording } from '../recorder-pipeline/finalize/finalizeRecording.ts';
import { RoomRegistry } from './sfu/RoomRegistry.ts';
import { roomTransportSettings } from './sfu/transportOptions.ts';
import { WorkerPool } from './sfu/WorkerPool.ts';
import { Admission } from './admission/Admission.ts';
import { ConnectionLimits } from './signaling/ConnectionLimits.ts';
import { SignalingServer } from './signaling/SignalingServer.ts';
import { AppError } from './errors.ts';
import { DiskSpace } from './storage/DiskSpace.ts';
import { EmbeddedS3Server } from './storage/EmbeddedS3Server.ts';
import { ObjectStore } from './storage/ObjectStore.ts';
import { PlaybackUrls } from './storage/PlaybackUrls.ts';
import { makeDataDirPrivate } from './storage/privateDataDir.ts';

/** How long a shutdown step after the recordings may take before the shutdown goes on without it. */
const SHUTDOWN_STEP_LIMIT_MS = 3000;
/** How long in-flight HTTP requests may finish during a shutdown before their connections are closed. */
const HTTP_DRAIN_MS = 1000;
/** How long a socket.io client may stay connected without joining a namespace (a refused one included). */
const SOCKET_CONNECT_TIMEOUT_MS = 5000;

export interface ServiceOptions {
  logger?: Logger;
}

/** Everything the service owns, assembled by create(). */
interface ServiceParts {
  config: Config;
  logger: Logger;
  adminToken: string;
  adminTokenGenerated: boolean;
  adminTokenConfigured: boolean;
  database: Database;
  objectStore: ObjectStore;
  embeddedS3: EmbeddedS3Server | undefined;
  workers: WorkerPool;
  interviews: InterviewService;
  http: FastifyInstance;
  io: SocketIoServer;
  rooms: RoomRegistry;
  signaling: SignalingServer;
  timers: InterviewTimers;
  finalizer: InterviewFinalizer;
  recordings: RecordingCoordinator;
  disk: DiskSpace;
  webhooks: WebhookOutbox;
  deletion: RecordingDeletion;
  draining: { value: boolean };
  routes: ReadonlyArray<HttpRoute>;
}

/** One HTTP route as registered (method and full path), for tests and API descriptions. */
export interface HttpRoute {
  method: string;
  url: string;
}

/** The whole service: owns the database, object store, SFU workers, HTTP and signalling. */
export class Service {
  #closed = false;
  #closingStep: string | undefined;
  readonly #draining: { value: boolean };

  readonly config: Config;
  readonly logger: Logger;
  readonly adminToken: string;
  readonly adminTokenGenerated: boolean;
  /** ADMIN_TOKEN came from the configuration: never print or log it. */
  readonly adminTokenConfigured: boolean;
  readonly database: Database;
  readonly objectStore: ObjectStore;
  readonly embeddedS3: EmbeddedS3Server | undefined;
  readonly workers: WorkerPool;
  readonly interviews: InterviewService;
  readonly http: FastifyInstance;
  readonly io: SocketIoServer;
  /** Open interview rooms; `room` fires for each one opened (hook per-room consumers here). */
  readonly rooms: RoomRegistry;
  readonly signaling: SignalingServer;
  readonly timers: InterviewTimers;
  readonly finalizer: InterviewFinalizer;
  readonly recordings: RecordingCoordinator;
  readonly disk: DiskSpace;
  /** Webhook events waiting for (or past) delivery to WEBHOOK_URL. */
  readonly webhooks: WebhookOutbox;
  /** Deleting recordings on request and by RETENTION_DAYS. */
  readonly deletion: RecordingDeletion;
  /** Every HTTP route the service serves. */
  readonly routes: ReadonlyArray<HttpRoute>;

  private constructor(parts: ServiceParts) {
    this.config = parts.config;
    this.logger = parts.logger;
    this.adminToken = parts.adminToken;
    this.adminTokenGenerated = parts.adminTokenGenerated;
    this.adminTokenConfigured = parts.adminTokenConfigured;
    this.database = parts.database;
    this.objectStore = parts.objectStore;
    this.embeddedS3 = parts.embeddedS3;
    this.workers = parts.workers;
    this.interviews = parts.interviews;
    this.http = parts.http;
    this.io = parts.io;
    this.rooms = parts.rooms;
    this.signaling = parts.signaling;
    this.timers = parts.timers;
    this.finalizer = parts.finalizer;
    this.recordings = parts.recordings;
    this.disk = parts.disk;
    this.webhooks = parts.webhooks;
    this.deletion = parts.deletion;
    this.#draining = parts.draining;
    this.routes = parts.routes;
  }

  static async create(config: Config, options: ServiceOptions = {}): Promise<Service> {
    const logger = options.logger ?? createLogger(config.logLevel);
    makeDataDirPrivate(config.dataDir);
    const secrets = loadServiceSecrets(config.dataDir, config.adminToken);
    const closers: Array<() => unknown> = [];
    try {
      const { database, appliedMigrations } = await Database.open(config.database, { logger: logger.child({ component: 'database' }) });
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
        webRtcServer:
          config.mediasoup.webRtcServerPort === undefined ? undefined : { port: config.mediasoup.webRtcServerPort, listenIp: roomTransportSettings(config).listenIp },
        logger,
      });
      closers.push(() => workers.close());
      const rooms = new RoomRegistry({ workers, transport: roomTransportSettings(config), idleCloseMs: config.roomIdleMs, logger });
      closers.push(() => rooms.close());

      const webhooks = new WebhookOutbox({ database, url: config.webhooks.url, secret: config.webhooks.secret, logger: logger.child({ component: 'webhooks' }) });
      closers.push(() => webhooks.close());
      const interviews = new InterviewService(database, webhooks);
      // An interview with media in its room costs CPU (reserved until it ends).
      const admission = new Admission(config.admission, () => rooms.rooms.filter((room) => room.tracks.length > 0).length);
      closers.push(() => admission.close());
      const disk = new DiskSpace({ path: config.dataDir, minFreeBytes: config.minFreeDiskBytes, logger });
      closers.push(() => disk.close());
      // Set when a graceful shutdown begins (SIGTERM): no new interviews, running ones are kept.
      const draining = { value: false };
      const admitNewInterview = async (): Promise<void> => {
        if (draining.value) throw new AppError('unavailable', 'the service is restarting; try again in a moment');
        admission.admitOne();
        const space = await disk.check();
        if (!space.ok) {
          logger.warn({ disk: space }, 'new interview refused: the disk is nearly full');
          throw new AppError(
            'insufficient_storage',
            `the recording disk is nearly full (${Math.floor(space.freeBytes / 1048576)} MB free, MIN_FREE_DISK_MB is ${Math.floor(space.minFreeBytes / 1048576)}); new interviews are refused`,
          );
        }
      };
      const http: FastifyInstance = Fastify({
        loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
        bodyLimit: 1024 * 1024,
        // While closing, requests still reach the routes, which answer the documented 503s
        // (/healthz `service.draining`, `unavailable`), not Fastify's generic one.
        return503OnClosing: false,
      });
      const routes: HttpRoute[] = [];
      http.addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
      });
      registerErrorHandler(http);
      // Requests are parsed with zod in each route and answers are plain JSON: route schemas exist
      // only to describe the API (OpenAPI), so neither ajv nor fast-json-stringify may act on them.
      http.setValidatorCompiler(() => (value) => ({ value }));
      http.setSerializerCompiler(() => (data) => JSON.stringify(data));
      await http.register(fastifySwagger, {
        openapi: {
          openapi: '3.0.3',
          info: { title: 'interview-ingest', version: '0.1.0', description: 'Crash-safe live ingest and recording for remote job interviews: the admin API and the routes pages and operators use.' },
          components: {
            securitySchemes: {
              adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
              roleToken: { type: 'http', scheme: 'bearer', description: "A candidate or proctor link's role token" },
              metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
            },
          },
          security: [{ adminToken: [] }],
        },
        // Pages and assets are not API: only tagged routes are described.
        hideUntagged: true,
      });
      registerHealthRoutes(http, [
        { name: 'service', check: () => ({ ok: !draining.value, draining: draining.value }) },
        { name: 'disk', check: async () => ({ ...(await disk.check()) }) },
        { name: 'admission', check: () => ({ ...admission.report() }) },
        { name: 'database', check: () => database.isUp() },
        { name: 'objectStore', check: () => objectStore.isUp() },
        {
          name: 'mediasoup',
          check: () => {
            const ports = workers.portHeadroom();
            // Down when no worker could take one more WebRTC connection: nothing new would get media.
            const ok = workers.isUp() && ports.some((worker) => worker.free > 0);
            return { ok, workers: workers.workers.length, alive: workers.workers.filter((w) => !w.closed).length, ports };
          },
        },
      ]);
      const roleTokens = new RoleTokens(secrets.roleTokenKey);
      const mediaSignatures = new MediaSignatures(secrets.mediaUrlKey);
      const playbackUrls = new PlaybackUrls({
        objectStore,
        signatures: mediaSignatures,
        publicUrl: config.publicUrl,
        ttlSeconds: config.mediaUrlTtlSeconds,
        presigned: config.s3.presignedUrls,
      });
      // Pages play recordings from this origin too: the public bucket's, or with presigned URLs the
      // object store's own (the pages' Content-Security-Policy must allow it).
      const mediaOrigin = config.s3.publicBaseUrl ? new URL(config.s3.presignedUrls ? objectStore.settings.endpoint : config.s3.publicBaseUrl).origin : undefined;
      registerPageRoutes(http, { mediaOrigin });
      const finalizer = new InterviewFinalizer({
        database,
        objectStore,
        recordingsDir: path.join(config.dataDir, 'recordings'),
        partSizeBytes: config.s3.partSizeBytes,
        retryWindowMs: config.s3.uploadRetryWindowMs,
        publicUrl: config.publicUrl,
        finalizeRecording: async (directory) => {
          const finalized = await finalizeRecording(directory, { logger });
          return { screen: finalized.screenPath, candidate: finalized.candidatePath };
        },
        logger,
        webhooks,
      });
      const deletion = new RecordingDeletion({
        database,
        objectStore,
        recordingsDir: path.join(config.dataDir, 'recordings'),
        retentionDays: config.retentionDays,
        logger: logger.child({ component: 'retention' }),
      });
      closers.push(() => deletion.close());
      registerAdminRoutes(http, {
        interviews,
        finalizer,
        roleTokens,
        playbackUrls,
        deletion,
        webhooks,
        adminToken: secrets.adminToken,
        publicUrl: config.publicUrl,
        roleTokenTtlSeconds: config.roleTokenTtlSeconds,
        admitNewInterview,
      });
      registerMediaRoutes(http, { objectStore, signatures: mediaSignatures, roleTokens, adminToken: secrets.adminToken });
      registerRecordingRoutes(http, { interviews, finalizer, roleTokens, playbackUrls });
      const timers = new InterviewTimers(interviews, logger);
      closers.push(() => timers.close());
      const limits = new ConnectionLimits(config.limits);
      const io = new SocketIoServer(http.server, {
        serveClient: false,
        maxHttpBufferSize: 64 * 1024,
        connectTimeout: SOCKET_CONNECT_TIMEOUT_MS,
        allowRequest: (request, callback) => callback(null, limits.admitsAddress(request)),
      });
      const recordings = new RecordingCoordinator({
        database,
        interviews,
        rooms,
        finalizer,
        logger,
        rtcPortRange: { min: config.mediasoup.rtcMinPort, max: config.mediasoup.rtcMaxPort },
        webhooks,
      });
      closers.push(() => recordings.close());
      // Progressive upload: follow each interview's recording from its first segment.
      rooms.on('room', (room) => finalizer.follow(room.interviewId));
      closers.push(() => finalizer.close());
      const signaling = new SignalingServer({
        io,
        roleTokens,
        rooms,
        interviews,
        bitrates: config.bitrates,
        candidateDashboardUrl: config.candidateDashboardUrl,
        turn: config.turn,
        iceTransportPolicy: config.iceTransportPolicy,
        limits,
        admitOne: () => admission.admitOne(),
        logger,
      });
      closers.push(() => signaling.close());
      registerMetricsRoutes(http, {
        gauges: createServiceGauges({ interviews, signaling, recordings, rooms, workers, disk, admission }),
        adminToken: secrets.adminToken,
        metricsToken: config.metricsToken,
      });

      await http.listen({ port: config.port, host: config.host });
      // Work left by a previous run: interviews still live get their timers back (one whose
      // endsAt passed while the service was down ends now); unfinished finalizations resume.
      await timers.rearmAll();
      for (const status of [InterviewStatus.Finalizing, InterviewStatus.Failed]) {
        for (const interview of await interviews.list({ status })) void finalizer.finalize(interview.id);
      }
      webhooks.start();
      deletion.start();
      void disk.check().catch((error: unknown) => logger.error({ err: error, path: config.dataDir }, 'could not measure the free disk space'));
      return new Service({
        config,
        logger,
        adminToken: secrets.adminToken,
        adminTokenGenerated: secrets.adminTokenGenerated,
        adminTokenConfigured: secrets.adminTokenConfigured,
        database,
        objectStore,
        embeddedS3,
        workers,
        interviews,
        http,
        io,
        rooms,
        signaling,
        timers,
        finalizer,
        recordings,
        disk,
        webhooks,
        deletion,
        draining,
        routes,
      });
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

  /** True once a graceful shutdown began: new interviews are refused (503) and /healthz is 503. */
  get draining(): boolean {
    return this.#draining.value;
  }

  /**
   * Graceful shutdown (SIGTERM, a deploy): stop taking new interviews, end every recording's
   * segment cleanly on disk and leave live interviews live, so the next start resumes them (their
   * timers are re-armed, the candidate pages reconnect and republish).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#draining.value = true;
    this.disk.close();
    this.timers.close();
    // Recordings stop first, gracefully, and are waited for: their segments stay on disk for the
    // next start. Every later step only releases resources, so one that hangs is logged and left
    // behind rather than holding the exit (and the deploy) until the forced-exit timer.
    await this.#closeStep('recordings', () => this.recordings.close());
    await this.#closeStep('finalizer', () => this.finalizer.close(), SHUTDOWN_STEP_LIMIT_MS);
    this.signaling.close();
    this.rooms.close();
    this.io.close();
    // In-flight HTTP requests get a moment to finish; then their connections are closed (pages
    // reconnect and media players retry their Range requests).
    const dropConnections = setTimeout(() => this.http.server.closeAllConnections(), HTTP_DRAIN_MS);
    await this.#closeStep('http', () => this.http.close(), SHUTDOWN_STEP_LIMIT_MS);
    clearTimeout(dropConnections);
    await this.#closeStep('webhooks', () => this.webhooks.close(), SHUTDOWN_STEP_LIMIT_MS);
    await this.#closeStep('retention', () => this.deletion.close(), SHUTDOWN_STEP_LIMIT_MS);
    this.workers.close();
    this.objectStore.close();
    await this.#closeStep('embedded object store', () => this.embeddedS3?.close(), SHUTDOWN_STEP_LIMIT_MS);
    await this.#closeStep('database', () => this.database.close(), SHUTDOWN_STEP_LIMIT_MS);
    this.#closingStep = undefined;
  }

  /** The shutdown step in progress, named in the log when a shutdown takes too long. */
  get closingStep(): string | undefined {
    return this.#closingStep;
  }

  async #closeStep(step: string, close: () => unknown, limitMs?: number): Promise<void> {
    this.#closingStep = step;
    const startedAt = Date.now();
    let limit: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.resolve()
        .then(close)
        .then(
          () => 'done' as const,
          (error: unknown) => {
            this.logger.error({ step, err: error }, 'shutdown step failed');
            return 'failed' as const;
          },
        ),
      ...(limitMs === undefined ? [] : [new Promise<'timed out'>((resolve) => (limit = setTimeout(() => resolve('timed out'), limitMs)))]),
    ]);
    clearTimeout(limit);
    const ms = Date.now() - startedAt;
    if (outcome === 'timed out') this.logger.warn({ step, ms }, `shutdown step "${step}" did not finish in ${ms} ms; going on without it`);
    else if (ms > 1000) this.logger.warn({ step, ms }, `shutdown step "${step}" was slow`);
  }
}
