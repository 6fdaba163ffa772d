import fs from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Server as SocketIoServer } from 'socket.io';
import { withBoundPort, type Config } from '../config/Config.ts';
import { recordingDirOf, recordingsRootOf } from '../recorder-pipeline/recordingPaths.ts';
import { Admission } from './admission/Admission.ts';
import { newInterviewAdmission } from './admission/admitNewInterview.ts';
import { MediaSignatures } from './auth/MediaSignatures.ts';
import { OriginPolicy } from './auth/OriginPolicy.ts';
import { RoleTokens } from './auth/RoleTokens.ts';
import { loadServiceSecrets, type ServiceSecrets } from './auth/ServiceSecrets.ts';
import { loadSharedServiceSecrets } from './auth/SharedServiceSecrets.ts';
import { clusterKeys } from './cluster/clusterKeys.ts';
import { reservePort } from './http/reservedPort.ts';
import { intervalClaim } from './cluster/intervalClaim.ts';
import { InterviewLeases } from './cluster/InterviewLeases.ts';
import { interviewOwnerLookup, interviewOwnerUrl, ownerInternalUrlLookup, signalingRouteOf } from './cluster/interviewOwnerUrl.ts';
import { handOverInterviews } from './cluster/handOverInterviews.ts';
import { LeasedOwnership } from './cluster/LeasedOwnership.ts';
import { NodeRegistry, nodeLoadOf } from './cluster/NodeRegistry.ts';
import { OrphanTakeover } from './cluster/OrphanTakeover.ts';
import { pagesFollowNewOwner } from './cluster/pagesFollowNewOwner.ts';
import { placeNewInterview } from './cluster/placeNewInterview.ts';
import { closeRedisClient, openRedisClient } from './cluster/redisClient.ts';
import { Database } from './db/Database.ts';
import { serviceHealthProbes } from './health/serviceHealth.ts';
import { registerAdminRoutes } from './http/adminRoutes.ts';
import { registerHealthRoutes } from './http/healthRoutes.ts';
import { proxyTrust } from './http/clientAddress.ts';
import { createHttpServer, type HttpRoute } from './http/httpServer.ts';
import { readTlsFiles, reloadTlsCertificate } from './http/tlsCertificate.ts';
import { registerMediaRoutes } from './http/mediaRoutes.ts';
import { registerMetricsRoutes } from './http/metricsRoutes.ts';
import { registerPageRoutes } from './http/pageRoutes.ts';
import { registerRecordingRoutes } from './http/recordingRoutes.ts';
import { registerSdkRoutes } from './http/sdkRoutes.ts';
import { retrySweepIntervalMs } from './lifecycle/FailedRetrySchedule.ts';
import { InterviewService } from './lifecycle/InterviewService.ts';
import { InterviewStatus } from './db/InterviewStatus.ts';
import { RecordingDeletion } from './lifecycle/RecordingDeletion.ts';
import { StaleUploadSweep } from './lifecycle/StaleUploadSweep.ts';
import { createLogger } from './logging.ts';
import { createServiceGauges } from './health/serviceGauges.ts';
import { FailedDeliveryRetries } from './session/FailedDeliveryRetries.ts';
import { FinalizationTakeover } from './session/FinalizationTakeover.ts';
import { SessionRegistry } from './session/SessionRegistry.ts';
import { InterviewRoom } from './sfu/InterviewRoom.ts';
import { roomTransportSettings } from './sfu/transportOptions.ts';
import { WorkerPool } from './sfu/WorkerPool.ts';
import { ShutdownSteps } from './ShutdownSteps.ts';
import { ConnectionLimits } from './signaling/ConnectionLimits.ts';
import { SignalingServer } from './signaling/SignalingServer.ts';
import { AppError } from './errors.ts';
import { DiskSpace } from './storage/DiskSpace.ts';
import { EmbeddedS3Server } from './storage/EmbeddedS3Server.ts';
import { ObjectStore } from './storage/ObjectStore.ts';
import { PlaybackUrls } from './storage/PlaybackUrls.ts';
import { RecordingArtifacts } from './delivery/RecordingArtifacts.ts';
import { filmstripArtifact } from './delivery/artifacts/filmstripArtifact.ts';
import { makeDataDirPrivate } from './storage/privateDataDir.ts';
import { WebhookOutbox } from './webhooks/WebhookOutbox.ts';

export type { HttpRoute } from './http/httpServer.ts';

/**
 * Milliseconds per phase of a start, each from the end of the one before; `modules` is everything
 * before Service.create (Node's own start and loading the code).
 */
class StartupPhases {
  readonly phases: Record<string, number> = { modules: Math.round(performance.now()) };
  #last = performance.now();

  mark(phase: string): void {
    const now = performance.now();
    this.phases[phase] = Math.round(now - this.#last);
    this.#last = now;
  }
}

/** How long a shutdown step after the recordings may take before the shutdown goes on without it. */
const SHUTDOWN_STEP_LIMIT_MS = 3000;
/** How often unfinished multipart uploads are looked at (StaleUploadSweep). */
const STALE_UPLOAD_CHECK_MS = 3600_000;
/** How long in-flight HTTP requests may finish during a shutdown before their connections are closed. */
const HTTP_DRAIN_MS = 1000;
/** How long a socket.io client may stay connected without joining a namespace (a refused one included). */
const SOCKET_CONNECT_TIMEOUT_MS = 5000;
/** The finalization claims' holder on a single node: the only node, so its next run takes its claims back at once. */
const SINGLE_NODE_ID = 'single-node';

export interface ServiceOptions {
  logger?: Logger;
}

/**
 * What tests, the bench and `main.ts` may use of a running service. Everything else is
 * internal: reach an interview through `sessions`, the API through `localUrl` or `http.inject`.
 */
interface ServiceSurface {
  config: Config;
  logger: Logger;
  adminToken: string;
  adminTokenGenerated: boolean;
  /** ADMIN_TOKEN came from the configuration: never print or log it. */
  adminTokenConfigured: boolean;
  database: Database;
  objectStore: ObjectStore;
  embeddedS3: EmbeddedS3Server | undefined;
  workers: WorkerPool;
  interviews: InterviewService;
  /** The live interviews' sessions: room, recording, delivery, per interview. */
  sessions: SessionRegistry;
  http: FastifyInstance;
  io: SocketIoServer;
  /** Every HTTP route the service serves. */
  routes: ReadonlyArray<HttpRoute>;
  /** Cluster mode (REDIS_URL): this node's heartbeat and the nodes it sees; undefined on a single node. */
  nodes: NodeRegistry | undefined;
  /** Cluster mode: the interview leases this node holds; undefined on a single node. */
  leases: InterviewLeases | undefined;
}

/**
 * The whole service: the database, object store, SFU workers, the interviews' sessions, HTTP and
 * signalling. Its parts are built once, in order, each adding how it is closed to one list that
 * both a failed start and `close()` run in reverse.
 */
export class Service implements ServiceSurface {
  readonly config: Config;
  readonly logger: Logger;
  readonly adminToken: string;
  readonly adminTokenGenerated: boolean;
  readonly adminTokenConfigured: boolean;
  readonly database: Database;
  readonly objectStore: ObjectStore;
  readonly embeddedS3: EmbeddedS3Server | undefined;
  readonly workers: WorkerPool;
  readonly interviews: InterviewService;
  readonly sessions: SessionRegistry;
  readonly http: FastifyInstance;
  readonly io: SocketIoServer;
  readonly routes: ReadonlyArray<HttpRoute>;
  readonly nodes: NodeRegistry | undefined;
  readonly leases: InterviewLeases | undefined;
  readonly #steps: ShutdownSteps;
  readonly #draining: { value: boolean };
  #closing: Promise<void> | undefined;

  private constructor(surface: ServiceSurface, steps: ShutdownSteps, draining: { value: boolean }) {
    this.config = surface.config;
    this.logger = surface.logger;
    this.adminToken = surface.adminToken;
    this.adminTokenGenerated = surface.adminTokenGenerated;
    this.adminTokenConfigured = surface.adminTokenConfigured;
    this.database = surface.database;
    this.objectStore = surface.objectStore;
    this.embeddedS3 = surface.embeddedS3;
    this.workers = surface.workers;
    this.interviews = surface.interviews;
    this.sessions = surface.sessions;
    this.http = surface.http;
    this.io = surface.io;
    this.routes = surface.routes;
    this.nodes = surface.nodes;
    this.leases = surface.leases;
    this.#steps = steps;
    this.#draining = draining;
  }

  static async create(requested: Config, options: ServiceOptions = {}): Promise<Service> {
    const logger = options.logger ?? createLogger(requested.logLevel);
    makeDataDirPrivate(requested.dataDir);
    // One node keeps its keys in DATA_DIR; a cluster's are in the shared database (read once it is open).
    let secrets: ServiceSecrets | undefined = requested.cluster ? undefined : loadServiceSecrets(requested.dataDir, requested.adminToken);
    const steps = new ShutdownSteps(logger);
    // PORT=0: the port the system picks, bound now; everything below is built from it.
    const reserved = requested.port === 0 ? await reservePort(requested.host) : undefined;
    if (reserved) steps.add('reserved port', () => reserved.release());
    const config = reserved ? withBoundPort(requested, reserved.port) : requested;
    // Set when a graceful shutdown begins (SIGTERM): no new interviews, running ones are kept.
    const draining = { value: false };
    // Where a start spends its time (logged once it listens): a restart is what a candidate waits for.
    const startup = new StartupPhases();
    // The mediasoup workers are processes of their own: they start while the database and the
    // object store come up (measured: the restart is that much shorter), and are handed to the
    // shutdown steps where they were awaited.
    const transport = roomTransportSettings(config);
    const workersStarting = WorkerPool.create({
      size: config.mediasoup.workers,
      rtcMinPort: config.mediasoup.rtcMinPort,
      rtcMaxPort: config.mediasoup.rtcMaxPort,
      webRtcServer: config.mediasoup.webRtcServerPort === undefined ? undefined : { port: config.mediasoup.webRtcServerPort, listenIp: transport.listenIp },
      logger,
    });
    // Awaited below; a failure before that must not surface as an unhandled rejection.
    workersStarting.catch(() => undefined);
    let workersAwaited = false;
    try {
      const { database, appliedMigrations } = await Database.open(config.database, { logger: logger.child({ component: 'database' }) });
      startup.mark('database');
      steps.add('database', () => database.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });
      if (appliedMigrations.length > 0) logger.info({ migrations: appliedMigrations }, 'database migrated');
      secrets ??= await loadSharedServiceSecrets(database, config.adminToken);

      // Cluster mode: two connections to Redis. Heartbeats and leases fail fast while it is down
      // (a queued renewal would arrive stale); socket.io's adapter waits for the reconnect instead.
      const clusterLogger = logger.child({ component: 'cluster' });
      const redis = config.cluster ? await openRedisClient({ url: config.cluster.redisUrl, name: `${config.cluster.nodeId}/coordination`, offlineQueue: false, logger: clusterLogger }) : undefined;
      if (redis) steps.add('redis', () => closeRedisClient(redis), { limitMs: SHUTDOWN_STEP_LIMIT_MS });
      const adapterRedis = config.cluster ? await openRedisClient({ url: config.cluster.redisUrl, name: `${config.cluster.nodeId}/socket.io`, offlineQueue: true, logger: clusterLogger }) : undefined;
      if (adapterRedis) steps.add('socket.io redis', () => closeRedisClient(adapterRedis), { limitMs: SHUTDOWN_STEP_LIMIT_MS });

      let embeddedS3: EmbeddedS3Server | undefined;
      if (!config.s3.endpoint) {
        embeddedS3 = await EmbeddedS3Server.start({ directory: path.join(config.dataDir, 'object-store'), bucket: config.s3.bucket });
        steps.add('embedded object store', () => embeddedS3?.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });
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
      steps.add('object store client', () => objectStore.close());
      if (embeddedS3) await objectStore.ensureBucket();
      startup.mark('objectStore');

      const workers = await workersStarting;
      workersAwaited = true;
      startup.mark('mediasoupWorkers');
      steps.add('mediasoup workers', () => workers.close());

      const webhooks = new WebhookOutbox({ database, url: config.webhooks.url, secret: config.webhooks.secret, logger: logger.child({ component: 'webhooks' }) });
      steps.add('webhooks', () => webhooks.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });
      const interviews = new InterviewService(database, webhooks, { retrySchedule: config.failedRetry });
      const recordingsRoot = recordingsRootOf(config.dataDir);
      const deletion = new RecordingDeletion({ database, objectStore, recordingsDir: recordingsRoot, retentionDays: config.retentionDays, logger: logger.child({ component: 'retention' }) });
      steps.add('retention', () => deletion.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });

      // Released after the recordings stopped and the rooms closed (later steps close first): another
      // node may take an interview over at once, and never while this one still records it.
      const leases = redis && config.cluster ? new InterviewLeases({ redis, nodeId: config.cluster.nodeId, logger: clusterLogger }) : undefined;
      if (leases) steps.add('leases', () => leases.close({ release: true }), { limitMs: SHUTDOWN_STEP_LIMIT_MS });
      const artifacts = new RecordingArtifacts({
        database,
        objectStore,
        makers: config.filmstrip ? [filmstripArtifact(config.filmstripOptions)] : [],
        retryWindowMs: config.s3.uploadRetryWindowMs,
        logger: logger.child({ component: 'artifacts' }),
      });
      const sessions = new SessionRegistry({
        database,
        interviews,
        objectStore,
        createRoom: async (interviewId) => {
          try {
            return await InterviewRoom.create({ interviewId, workers, transport, idleCloseMs: config.roomIdleMs, logger });
          } catch (error) {
            logger.error({ err: error, interviewId }, 'could not open an interview room');
            throw new AppError('unavailable', 'no media server is available right now; try again shortly');
          }
        },
        recordingDirOf: (interviewId) => recordingDirOf(recordingsRoot, interviewId),
        rtcPortRange: { min: config.mediasoup.rtcMinPort, max: config.mediasoup.rtcMaxPort },
        partSizeBytes: config.s3.partSizeBytes,
        retryWindowMs: config.s3.uploadRetryWindowMs,
        publicUrl: config.publicUrl,
        progressiveUpload: true,
        journalIntervalMs: config.recordingJournalMs,
        flagEvents: new Set(config.flagEvents),
        artifacts,
        webhooks,
        ownership: leases && new LeasedOwnership(leases, clusterLogger),
        nodeId: config.cluster?.nodeId ?? SINGLE_NODE_ID,
        logger,
      });
      steps.add('rooms', () => sessions.close());
      // Cluster mode with the journal: a finalizing node that died is taken over (its claim ran out).
      const takeover = leases && config.recordingJournalMs > 0 ? new FinalizationTakeover({ interviews, sessions, logger: clusterLogger }) : undefined;
      if (takeover) steps.add('finalization takeover', () => takeover.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });

      // An interview with media in its room costs CPU (reserved until it ends).
      const admission = new Admission(config.admission, () => sessions.withMedia);
      steps.add('admission', () => admission.close());
      const disk = new DiskSpace({ path: config.dataDir, minFreeBytes: config.minFreeDiskBytes, logger });
      steps.add('disk', () => disk.close());
      const cores = os.cpus().length;
      const nodes =
        redis && config.cluster
          ? await NodeRegistry.start({
              redis,
              nodeId: config.cluster.nodeId,
              publicUrl: config.publicUrl,
              internalUrl: config.cluster.internalUrl,
              load: () => nodeLoadOf(admission.report(), cores, disk.lastOk !== false),
              draining: () => draining.value,
              logger: clusterLogger,
            })
          : undefined;
      if (nodes) steps.add('node registry', () => nodes.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });

      // TRUST_PROXY: one rule for who the client is, over HTTP and in the socket.io handshake.
      const trust = proxyTrust(config.trustedProxies);
      const { http, routes } = await createHttpServer(logger, trust, config.tls && readTlsFiles(config.tls));
      const roleTokens = new RoleTokens(secrets.roleTokenKey);
      const mediaSignatures = new MediaSignatures(secrets.mediaUrlKey);
      const playbackUrls = new PlaybackUrls({ objectStore, signatures: mediaSignatures, publicUrl: config.publicUrl, ttlSeconds: config.mediaUrlTtlSeconds, presigned: config.s3.presignedUrls });
      registerHealthRoutes(http, serviceHealthProbes({ draining: () => draining.value, disk, admission, database, objectStore, workers, nodes }));
      // Pages play recordings from this origin too: the public bucket's, or with presigned URLs the
      // object store's own (the pages' Content-Security-Policy must allow it).
      const mediaOrigin = config.s3.publicBaseUrl ? new URL(config.s3.presignedUrls ? objectStore.settings.endpoint : config.s3.publicBaseUrl).origin : undefined;
      // Cluster mode: the live nodes' URLs, where the pages look for their interview's new owner.
      const nodeUrls = nodes && (async () => (await nodes.nodes()).filter((node) => !node.draining).map((node) => node.publicUrl));
      const ownerUrlOf = leases && nodes && interviewOwnerUrl({ leases, nodes, logger: clusterLogger });
      // Which browser origins may use the service from their pages: EMBED_ORIGINS, this service's
      // own, and in a cluster every node's (draining ones too: their pages are the ones moving).
      const origins = new OriginPolicy({
        publicUrl: config.publicUrl,
        embedOrigins: config.embedOrigins,
        clusterUrls: nodes && (async () => (await nodes.nodes()).map((node) => node.publicUrl)),
        logger,
      });
      steps.add('origin policy', () => origins.close());
      registerPageRoutes(http, { mediaOrigin, ownerUrlOf, clusterOrigins: nodeUrls, frameAncestors: config.embedOrigins });
      registerSdkRoutes(http);
      registerAdminRoutes(http, {
        interviews,
        sessions,
        roleTokens,
        playbackUrls,
        artifacts,
        deletion,
        webhooks,
        adminToken: secrets.adminToken,
        publicUrl: config.publicUrl,
        origins,
        rateLimit: { perMinute: config.limits.adminRequestsPerMinute, failedAuthPerMinute: config.limits.adminFailedAuthPerMinute },
        roleTokenTtlSeconds: config.roleTokenTtlSeconds,
        // In a cluster a new interview goes to the least-loaded node with room (its links lead there).
        admitNewInterview: newInterviewAdmission({ draining: () => draining.value, admission, place: nodes && (() => placeNewInterview(nodes)), disk, logger }),
        forwardToOwner: leases &&
          nodes &&
          config.cluster && {
            ownerUrlOf: ownerInternalUrlLookup({ leases, nodes }),
            recordsHere: (interviewId) => sessions.get(interviewId)?.recording !== undefined,
            nodeId: config.cluster.nodeId,
            logger: clusterLogger,
          },
      });
      registerMediaRoutes(http, { objectStore, database, signatures: mediaSignatures, roleTokens, adminToken: secrets.adminToken });
      registerRecordingRoutes(http, { interviews, sessions, roleTokens, playbackUrls, artifacts, origins });
      steps.add('http', () => closeHttp(http), { limitMs: SHUTDOWN_STEP_LIMIT_MS });

      const limits = new ConnectionLimits(config.limits, trust);
      const io = new SocketIoServer(http.server, {
        serveClient: false,
        maxHttpBufferSize: 64 * 1024,
        connectTimeout: SOCKET_CONNECT_TIMEOUT_MS,
        // Every handshake, over polling and WebSocket alike: the address's connection cap, then
        // the origin (a browser page of another origin is refused; no Origin: not a browser's
        // cross-origin request, the role token decides). Other connections are not touched. The
        // reason is a code the SDK reads from a refused polling handshake (a refused WebSocket's
        // answer is hidden from pages): limit_reached.
        allowRequest: (request, callback) => {
          if (!limits.admitsAddress(request)) return callback('limit_reached', false);
          void origins.allows(request.headers.origin, request.headers.host).then((allowed) => callback(allowed ? null : 'origin not allowed', allowed));
        },
        // CORS for the allowed origins only (polling from a host app's page, or from another node's
        // page in a cluster). The role token travels in the handshake, never in a cookie.
        cors: (request, callback) => {
          const { origin } = request.headers;
          void origins.allows(origin, request.headers.host).then((allowed) => callback(null, { origin: allowed && origin !== undefined ? origin : false, credentials: false }));
        },
        // Cluster mode: a notification for an interview reaches its pages on every node. A Redis
        // stream (not plain pub/sub) so a Redis blip delays notifications instead of dropping them.
        ...(adapterRedis ? { adapter: (await import('@socket.io/redis-streams-adapter')).createAdapter(adapterRedis, { streamName: clusterKeys.socketIo, channelPrefix: clusterKeys.socketIo }) } : {}),
      });
      // Not awaited: io.close() also closes the HTTP server, and waits for its connections, which
      // the http step (next) drains and then drops.
      steps.add('socket.io', () => void io.close());
      const signaling = new SignalingServer({
        io,
        roleTokens,
        sessions,
        interviews,
        bitrates: config.bitrates,
        candidateDashboardUrl: config.candidateDashboardUrl,
        turn: config.turn,
        iceTransportPolicy: config.iceTransportPolicy,
        limits,
        admitOne: () => admission.admitOne(),
        routeOf:
          leases &&
          nodes &&
          signalingRouteOf({ leases, nodes, isLive: async (id) => (await interviews.find(id))?.status === InterviewStatus.Live, logger: clusterLogger }),
        nodeUrls,
        logger,
      });
      steps.add('signaling', () => signaling.close());
      // Cluster mode: a live interview whose lease went to another node is recorded there; its pages follow.
      if (leases && nodes) {
        const follow = pagesFollowNewOwner({ ownerUrlOf: interviewOwnerLookup({ leases, nodes }), moved: (id, url) => signaling.interviewMoved(id, url), logger: clusterLogger });
        sessions.on('ownershipLost', (interviewId) => void follow(interviewId));
      }
      registerMetricsRoutes(http, {
        gauges: createServiceGauges({ interviews, signaling, sessions, workers, disk, admission }),
        adminToken: secrets.adminToken,
        metricsToken: config.metricsToken,
      });
      // Cluster mode, right after the recordings stopped: the live interviews go to other nodes and
      // their pages follow, while this node still answers them.
      if (leases && nodes) steps.add('handover', () => handOverInterviews({ leases, nodes, moved: (id, url) => signaling.interviewMoved(id, url), logger: clusterLogger }));
      // First to close: recordings stop gracefully while everything else still runs, and are waited
      // for; their segments stay on disk for the next start.
      steps.add('recordings', () => sessions.stopRecordings());

      startup.mark('routes');
      if (reserved) {
        await http.ready();
        await reserved.handTo(http.server);
      } else {
        await http.listen({ port: config.port, host: config.host });
      }
      startup.mark('listen');
      logger.info({ port: config.port, host: config.host, publicUrl: config.publicUrl }, 'listening');
      // Work left by a previous run: interviews still live get their timers back (one whose
      // endsAt passed while the service was down ends now); unfinished deliveries resume.
      await sessions.resumeAll();
      startup.mark('resumeInterviews');
      // Cluster mode: from now on this node also takes over live interviews whose owner died. Stopped
      // first on shutdown (this node is leaving, not taking more).
      if (redis && leases && nodes) {
        const takeover = new OrphanTakeover({
          redis,
          leases,
          nodes,
          liveInterviews: async () => (await interviews.list({ status: InterviewStatus.Live })).map((interview) => interview.id),
          takeOver: (interviewId) => sessions.open(interviewId).resume(),
          draining: () => draining.value,
          logger: clusterLogger,
        });
        steps.add('orphan takeover', () => takeover.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });
      }
      // From now on failed interviews are delivered again by themselves when their retry is due.
      // Stopped first on shutdown (a draining node starts none). A node delivers what it can read:
      // in a cluster without the journal, only the recordings on its own disk.
      const retries = new FailedDeliveryRetries({
        interviews,
        sessions,
        draining: () => draining.value,
        canDeliverHere: (interviewId) => !config.cluster || config.recordingJournalMs > 0 || fs.existsSync(recordingDirOf(recordingsRoot, interviewId)),
        intervalMs: retrySweepIntervalMs(config.failedRetry),
        logger: logger.child({ component: 'failed-retries' }),
      });
      steps.add('failed delivery retries', () => retries.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });
      webhooks.start();
      deletion.start();
      // Multipart uploads a dead node left behind (STALE_UPLOAD_HOURS); in a cluster one node per
      // hour looks (the first to take the interval's key).
      const staleUploads = new StaleUploadSweep({
        database,
        objectStore,
        staleAfterMs: config.staleUploadMs,
        ...(redis && config.cluster
          ? { claim: intervalClaim(redis, clusterKeys.staleUploadSweep, config.cluster.nodeId, STALE_UPLOAD_CHECK_MS) }
          : {}),
        checkIntervalMs: STALE_UPLOAD_CHECK_MS,
        logger: logger.child({ component: 'stale-uploads' }),
      });
      steps.add('stale upload sweep', () => staleUploads.close(), { limitMs: SHUTDOWN_STEP_LIMIT_MS });
      staleUploads.start();
      // CPU time too: on a busy machine the wall clock says more about the others than about the start.
      const cpu = process.cpuUsage();
      logger.info({ startupMs: startup.phases, startupCpuMs: Math.round((cpu.user + cpu.system) / 1000) }, `started in ${Math.round(performance.now())} ms since the process began`);
      void disk.check().catch((error: unknown) => logger.error({ err: error, path: config.dataDir }, 'could not measure the free disk space'));
      const surface: ServiceSurface = {
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
        sessions,
        http,
        io,
        routes,
        nodes,
        leases,
      };
      return new Service(surface, steps, draining);
    } catch (error) {
      // A step before the workers failed: they started all the same.
      if (!workersAwaited) await workersStarting.then((pool) => pool.close(), () => undefined);
      await steps.run();
      throw error;
    }
  }

  /** The URL this process listens on (PUBLIC_URL is what links use). */
  get localUrl(): string {
    const address = this.http.server.address();
    const port = typeof address === 'object' && address ? address.port : this.config.port;
    // HOST naming one address: that one (a test's candidate-host link); all addresses: loopback.
    const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? '127.0.0.1' : this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `${this.config.tls ? 'https' : 'http'}://${host}:${port}`;
  }

  /**
   * SIGHUP: with TLS_CERT_FILE / TLS_KEY_FILE new connections get the files' certificate, live ones
   * stay. False (logged) when they could not be used, or when there are none (the signal is then
   * ignored: a stray reload must not end live interviews).
   */
  reloadTlsCertificate(): boolean {
    if (!this.config.tls) {
      this.logger.info('SIGHUP ignored: no TLS_CERT_FILE / TLS_KEY_FILE to reload');
      return false;
    }
    return reloadTlsCertificate(this.http.server as HttpsServer, this.config.tls, this.logger);
  }

  /** True once a graceful shutdown began: new interviews are refused (503) and /healthz is 503. */
  get draining(): boolean {
    return this.#draining.value;
  }

  /** The shutdown step in progress, named in the log when a shutdown takes too long. */
  get closingStep(): string | undefined {
    return this.#steps.current;
  }

  /**
   * The drain window before a shutdown (SIGTERM): /healthz answers 503 and new interviews are
   * refused, while everything else — live interviews, pages, the API — is served as before, so a
   * load balancer's health check takes this node out before its listener closes.
   */
  beginDraining(): void {
    this.#draining.value = true;
  }

  /**
   * Graceful shutdown (SIGTERM, a deploy): stop taking new interviews, end every recording's
   * segment cleanly on disk and leave live interviews live, so the next start resumes them (their
   * timers are re-armed, the candidate pages reconnect and republish). Idempotent.
   */
  close(): Promise<void> {
    this.#draining.value = true;
    this.#closing ??= this.#steps.run();
    return this.#closing;
  }
}

/** In-flight requests get a moment to finish; then their connections are closed (pages reconnect, players retry). */
async function closeHttp(http: FastifyInstance): Promise<void> {
  const dropConnections = setTimeout(() => http.server.closeAllConnections(), HTTP_DRAIN_MS);
  try {
    await http.close();
  } finally {
    clearTimeout(dropConnections);
  }
}
