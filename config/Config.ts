import os from 'node:os';
import type { TimelineEventKind } from '../shared/timeline.ts';
import path from 'node:path';
import type { RawEnv } from './schema.ts';

/** Where the service keeps its state: the SQLite file of one node, or a PostgreSQL database. */
export type DatabaseLocation = { kind: 'sqlite'; file: string } | { kind: 'postgresql'; url: string };

/** The SQLite file under DATA_DIR: the single-node default. */
export const SQLITE_FILE_NAME = 'interview-ingest.sqlite';

/** The resolved configuration every part of the service receives. */
export interface Config {
  port: number;
  host: string;
  /** Origin used to build the links handed to candidates and proctors, without trailing slash. */
  publicUrl: string;
  dataDir: string;
  database: DatabaseLocation;
  /**
   * Cluster mode (REDIS_URL set): this node's name, the Redis the nodes coordinate through, and
   * INTERNAL_URL, where the other nodes send it admin requests (undefined: PUBLIC_URL). Undefined: one node.
   */
  cluster: { redisUrl: string; nodeId: string; internalUrl: string | undefined } | undefined;
  /** Below this much free space on DATA_DIR's file system new interviews are refused. */
  minFreeDiskBytes: number;
  /** Undefined: generated once and kept under dataDir (see server/adminToken.ts). */
  adminToken: string | undefined;
  logLevel: RawEnv['LOG_LEVEL'];
  roleTokenTtlSeconds: number;
  limits: {
    /** Concurrent proctor connections one interview accepts. */
    proctorsPerInterview: number;
    /** Concurrent signalling connections one client address may hold. */
    connectionsPerIp: number;
    /** Admin API requests one client address may make a minute, and of those with a wrong token. */
    adminRequestsPerMinute: number;
    adminFailedAuthPerMinute: number;
  };
  /** SIGTERM: how long /healthz answers 503 (all else served) before the shutdown proceeds. */
  drainMs: number;
  /**
   * TRUST_PROXY: addresses and CIDR ranges of the reverse proxies in front of the service, whose
   * X-Forwarded-For names the client (server/http/clientAddress.ts); empty: the TCP peer is the client.
   */
  trustedProxies: string[];
  /** TLS_CERT_FILE / TLS_KEY_FILE: the service serves https itself (read again on SIGHUP); undefined: plain http. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Admission before overload: the CPU share (0 = off) and the cores one interview reserves. */
  admission: { maxCpuFraction: number; cpuCostPerInterview: number; measuredCpu: boolean };
  /** How long an interview room with nobody in it and no media is kept before it closes. */
  roomIdleMs: number;
  /** How often growing segments are shipped to the object store (the recording's journal); 0: off. */
  recordingJournalMs: number;
  /** FILMSTRIP: a sheet of screen thumbnails made and stored beside the recordings after the end. */
  filmstrip: boolean;
  /** FILMSTRIP_MIN_SECONDS / FILMSTRIP_INTERVAL_SECONDS: no filmstrip for a shorter recording; tiles at least this far apart. */
  filmstripOptions: { minRecordingSeconds: number; minIntervalSeconds: number };
  /** How long a signed (or presigned) recording URL handed to a page stays valid. */
  mediaUrlTtlSeconds: number;
  mediasoup: {
    workers: number;
    /**
     * Range the workers split for the recorder's PlainTransports (and, without a WebRTC server
     * port, for every WebRTC transport); it starts after the single media ports when those sit at
     * RTC_MIN_PORT.
     */
    rtcMinPort: number;
    rtcMaxPort: number;
    /** Single-port mode: worker i's WebRtcServer listens on UDP and TCP this + i. Undefined: range mode. */
    webRtcServerPort: number | undefined;
    listenIp: string;
    announcedIp: string | undefined;
  };
  s3: {
    /** Undefined: the service runs its embedded S3 server under dataDir. */
    endpoint: string | undefined;
    region: string;
    bucket: string;
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    publicBaseUrl: string | undefined;
    /** Hand out presigned GET URLs of the object store instead of the stored (public) URLs. */
    presignedUrls: boolean;
    partSizeBytes: number;
    /** How long transient upload failures are retried before the interview is marked failed. */
    uploadRetryWindowMs: number;
  };
  /**
   * How a failed interview is delivered again by itself: the wait after the 1st, 2nd, … failed
   * delivery (the last repeats), and how long after the interview's end a retry may still be due
   * (0: none by itself).
   */
  failedRetry: { delaysMs: number[]; forMs: number };
  /** TURN servers handed to the pages with time-limited credentials; undefined: none. */
  turn: { urls: string[]; secret: string } | undefined;
  /** relay: pages send media only through TURN (hides their addresses, tests the relay path). */
  iceTransportPolicy: 'all' | 'relay';
  bitrates: { screen: number; camera: number };
  candidateDashboardUrl: string;
  /**
   * EMBED_ORIGINS: host apps' origins (as browsers send them in Origin) allowed to use this service
   * from their pages and to frame the candidate and end pages; empty: only this service's own.
   */
  embedOrigins: string[];
  /** Bearer token that may read /metrics besides the admin token. */
  metricsToken: string | undefined;
  /** Undefined url: webhooks are off. */
  webhooks: { url: string | undefined; secret: string | undefined };
  /** FLAG_EVENTS: timeline kinds that send `interview.flagged` (default screen_share_stopped). */
  flagEvents: TimelineEventKind[];
  /** Recordings older than this are deleted; undefined: kept forever. */
  retentionDays: number | undefined;
  /** STALE_UPLOAD_HOURS: unfinished multipart uploads nobody owns are aborted after this long. */
  staleUploadMs: number;
}

/**
 * The URL links use when PUBLIC_URL is unset. PORT=0: the port is not known until the service
 * listens (then withBoundPort), and the host is HOST when it names one address (a test's
 * 127.0.0.1), else localhost.
 */
function defaultPublicUrl(tls: boolean, host: string, port: number, picked = port === 0): string {
  const urlHost = !picked || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${urlHost}:${port}`;
}

/**
 * The configuration once PORT=0 is bound to `port`: PORT itself, and what was derived from it
 * (PUBLIC_URL, CANDIDATE_DASHBOARD_URL and the cluster's NODE_ID when those were unset).
 */
export function withBoundPort(config: Config, port: number): Config {
  if (config.port !== 0) return config;
  const placeholder = defaultPublicUrl(config.tls !== undefined, config.host, 0);
  const publicUrl = config.publicUrl === placeholder ? defaultPublicUrl(config.tls !== undefined, config.host, port, true) : config.publicUrl;
  return {
    ...config,
    port,
    publicUrl,
    candidateDashboardUrl: config.candidateDashboardUrl === `${placeholder}/` ? `${publicUrl}/` : config.candidateDashboardUrl,
    cluster: config.cluster && config.cluster.nodeId === `${os.hostname()}:0` ? { ...config.cluster, nodeId: `${os.hostname()}:${port}` } : config.cluster,
  };
}

export function toConfig(env: RawEnv, cwd: string): Config {
  const tls = env.TLS_CERT_FILE && env.TLS_KEY_FILE ? { certFile: path.resolve(cwd, env.TLS_CERT_FILE), keyFile: path.resolve(cwd, env.TLS_KEY_FILE) } : undefined;
  const publicUrl = (env.PUBLIC_URL ?? defaultPublicUrl(tls !== undefined, env.HOST, env.PORT)).replace(/\/+$/, '');
  // Unset RTC_PORT: the first port of the range, so a test's (or a host's) slice holds it too.
  const singlePort = env.RTC_PORT_MODE === 'single' ? (env.RTC_PORT ?? env.RTC_MIN_PORT) : undefined;
  const dataDir = path.resolve(cwd, env.DATA_DIR);
  return {
    port: env.PORT,
    host: env.HOST,
    publicUrl,
    dataDir,
    database: env.DATABASE_URL ? { kind: 'postgresql', url: env.DATABASE_URL } : { kind: 'sqlite', file: path.join(dataDir, SQLITE_FILE_NAME) },
    cluster: env.REDIS_URL ? { redisUrl: env.REDIS_URL, nodeId: env.NODE_ID ?? `${os.hostname()}:${env.PORT}`, internalUrl: env.INTERNAL_URL?.replace(/\/+$/, '') } : undefined,
    minFreeDiskBytes: env.MIN_FREE_DISK_MB * 1024 * 1024,
    adminToken: env.ADMIN_TOKEN,
    logLevel: env.LOG_LEVEL,
    roleTokenTtlSeconds: Math.round(env.ROLE_TOKEN_TTL_HOURS * 3600),
    limits: {
      proctorsPerInterview: env.MAX_PROCTORS_PER_INTERVIEW,
      connectionsPerIp: env.MAX_CONNECTIONS_PER_IP,
      adminRequestsPerMinute: env.ADMIN_RATE_LIMIT_PER_MINUTE,
      adminFailedAuthPerMinute: env.ADMIN_FAILED_AUTH_PER_MINUTE,
    },
    drainMs: env.DRAIN_SECONDS * 1000,
    trustedProxies: env.TRUST_PROXY ?? [],
    tls,
    admission: { maxCpuFraction: env.ADMISSION_MAX_CPU_PERCENT / 100, cpuCostPerInterview: env.INTERVIEW_CPU_COST, measuredCpu: env.ADMISSION_MEASURED_CPU === 'true' },
    roomIdleMs: Math.round(env.ROOM_IDLE_SECONDS * 1000),
    recordingJournalMs: Math.round(env.RECORDING_JOURNAL_SECONDS * 1000),
    filmstrip: env.FILMSTRIP === 'true',
    filmstripOptions: { minRecordingSeconds: env.FILMSTRIP_MIN_SECONDS, minIntervalSeconds: env.FILMSTRIP_INTERVAL_SECONDS },
    mediaUrlTtlSeconds: env.MEDIA_URL_TTL_SECONDS,
    mediasoup: {
      workers: env.MEDIASOUP_WORKERS,
      rtcMinPort: singlePort === env.RTC_MIN_PORT ? env.RTC_MIN_PORT + env.MEDIASOUP_WORKERS : env.RTC_MIN_PORT,
      rtcMaxPort: env.RTC_MAX_PORT,
      webRtcServerPort: singlePort,
      listenIp: env.RTC_LISTEN_IP,
      announcedIp: env.RTC_ANNOUNCED_IP,
    },
    s3: {
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION,
      bucket: env.S3_BUCKET,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      publicBaseUrl: env.S3_PUBLIC_BASE_URL?.replace(/\/+$/, ''),
      presignedUrls: env.S3_PRESIGNED_URLS === 'true',
      partSizeBytes: env.S3_PART_SIZE_MB * 1024 * 1024,
      uploadRetryWindowMs: env.UPLOAD_RETRY_WINDOW_SECONDS * 1000,
    },
    failedRetry: { delaysMs: env.FAILED_UPLOAD_RETRY_SECONDS.map((seconds) => seconds * 1000), forMs: Math.round(env.FAILED_UPLOAD_RETRY_DAYS * 24 * 3600 * 1000) },
    turn: env.TURN_URLS && env.TURN_SECRET ? { urls: env.TURN_URLS, secret: env.TURN_SECRET } : undefined,
    iceTransportPolicy: env.ICE_TRANSPORT_POLICY,
    bitrates: { screen: env.SCREEN_MAX_BITRATE, camera: env.CAMERA_MAX_BITRATE },
    candidateDashboardUrl: env.CANDIDATE_DASHBOARD_URL ?? `${publicUrl}/`,
    embedOrigins: env.EMBED_ORIGINS ?? [],
    metricsToken: env.METRICS_TOKEN,
    webhooks: { url: env.WEBHOOK_URL, secret: env.WEBHOOK_SECRET },
    flagEvents: env.FLAG_EVENTS,
    retentionDays: env.RETENTION_DAYS,
    staleUploadMs: Math.round(env.STALE_UPLOAD_HOURS * 3600 * 1000),
  };
}
