// The one typed configuration of the service, read from environment variables (and an optional
// .env). Every variable has an embedded default so `npm start` runs with none set.
import fs from 'node:fs';
import { TIMELINE_EVENT_KINDS, type TimelineEventKind } from '../shared/timeline.ts';
import net from 'node:net';
import os from 'node:os';
import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const bitrate = (fallback: number) => z.coerce.number().int().min(100_000).max(50_000_000).default(fallback);
const optionalUrl = z.string().url().optional();
const ipAddress = z.string().ip();
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const DATABASE_URL_SHAPE = 'postgres://user:password@host:5432/database';
// MikroORM reads host, port, user, password, database and `schema` from the URL and drops every
// other parameter: a `sslmode=require` it ignored would connect in plain text, so none is accepted.
const databaseUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be a URL like ${DATABASE_URL_SHAPE}` });
    return;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    ctx.addIssue({ code: 'custom', message: `must be a postgres:// or postgresql:// URL (${DATABASE_URL_SHAPE}); unset it for the SQLite file in DATA_DIR` });
  } else if (!url.hostname) {
    ctx.addIssue({ code: 'custom', message: `must name a host (${DATABASE_URL_SHAPE})` });
  } else if (url.pathname.replace(/^\//, '') === '') {
    ctx.addIssue({ code: 'custom', message: `must name a database (${DATABASE_URL_SHAPE})` });
  } else {
    const unsupported = [...url.searchParams.keys()].filter((key) => key !== 'schema');
    if (unsupported.length > 0) ctx.addIssue({ code: 'custom', message: `supports only the schema parameter, not ${unsupported.join(', ')}` });
  }
});

const REDIS_URL_SHAPE = 'redis://[:password@]host:6379[/db]';
const redisUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be a URL like ${REDIS_URL_SHAPE}` });
    return;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    ctx.addIssue({ code: 'custom', message: `must be a redis:// or rediss:// URL (${REDIS_URL_SHAPE}); unset it for a single node` });
  } else if (!url.hostname) {
    ctx.addIssue({ code: 'custom', message: `must name a host (${REDIS_URL_SHAPE})` });
  } else if (!/^(\/\d*)?$/.test(url.pathname)) {
    ctx.addIssue({ code: 'custom', message: `may name only a database number after the host (${REDIS_URL_SHAPE})` });
  }
});

const ORIGIN_SHAPE = 'https://app.example.com';
/**
 * Comma-separated origins (scheme, host and an optional port; no path, query or credentials),
 * each turned into the form a browser's Origin header has (lowercase host, no default port).
 */
const originList = z.string().transform((value, ctx) => {
  const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  const origins: string[] = [];
  const bad: string[] = [];
  for (const entry of entries) {
    // The shape first (no path, query, fragment or credentials), then what URL makes of it.
    if (/^https?:\/\/[^/?#@\s]+$/i.test(entry) && URL.canParse(entry)) origins.push(new URL(entry).origin);
    else bad.push(entry);
  }
  if (bad.length > 0 || origins.length === 0) {
    const which = bad.length > 0 ? `; not an origin: ${bad.map((entry) => JSON.stringify(entry)).join(', ')}` : '';
    ctx.addIssue({ code: 'custom', message: `must be comma-separated origins like ${ORIGIN_SHAPE} (http or https, host and optional port, no path)${which}` });
    return z.NEVER;
  }
  return [...new Set(origins)];
});

const TRUST_PROXY_SHAPE = '127.0.0.1,10.0.0.0/8';
/** Comma-separated proxy addresses or CIDR ranges (IPv4 or IPv6), as given (trimmed, duplicates once). */
const proxyList = z.string().transform((value, ctx) => {
  const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  const isAddressOrRange = (entry: string): boolean => {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = net.isIP(address);
    if (family === 0 || rest.length > 0) return false;
    return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  };
  const bad = entries.filter((entry) => !isAddressOrRange(entry));
  if (bad.length > 0 || entries.length === 0) {
    const which = bad.length > 0 ? `; not an address or range: ${bad.map((entry) => JSON.stringify(entry)).join(', ')}` : '';
    ctx.addIssue({ code: 'custom', message: `must be comma-separated proxy addresses or CIDR ranges like ${TRUST_PROXY_SHAPE}${which}` });
    return z.NEVER;
  }
  return [...new Set(entries)];
});

/** A path to a file this process can read (checked at start; its contents are read by the service). */
const readableFile = z.string().superRefine((value, ctx) => {
  try {
    fs.accessSync(value, fs.constants.R_OK);
    if (!fs.statSync(value).isFile()) ctx.addIssue({ code: 'custom', message: 'must name a file' });
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must name a readable file' });
  }
});

const RETRY_DELAYS_SHAPE = '60,120,300,600,1800,3600';
/** The longest wait FAILED_UPLOAD_RETRY_SECONDS may name: one day. */
const MAX_RETRY_DELAY_SECONDS = 24 * 3600;
/** Comma-separated whole seconds, each 1 s – 1 day: the waits before each automatic retry of a failed interview. */
const retryDelays = z.string().transform((value, ctx) => {
  const entries = value.split(',').map((entry) => entry.trim());
  const delays = entries.map(Number);
  if (entries.some((entry) => !/^\d+$/.test(entry)) || delays.some((delay) => delay < 1 || delay > MAX_RETRY_DELAY_SECONDS)) {
    ctx.addIssue({ code: 'custom', message: `must be comma-separated whole seconds between 1 and ${MAX_RETRY_DELAY_SECONDS}, like ${RETRY_DELAYS_SHAPE}` });
    return z.NEVER;
  }
  return delays;
});

/** Environment variable name → validation rule. The README's configuration table mirrors this. */
export const envSchema = z
  .object({
    // 0: the system picks a free port when the service listens; it prints and logs the one it got.
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    PUBLIC_URL: optionalUrl,
    DATA_DIR: z.string().min(1).default('./data'),
    // Unset: the SQLite file in DATA_DIR (one node). Set: PostgreSQL, which several nodes can share.
    DATABASE_URL: databaseUrl.optional(),
    // Set: cluster mode — nodes register, lease their interviews and share socket.io through Redis.
    REDIS_URL: redisUrl.optional(),
    // A node's name in the cluster (default host:port); each node needs its own.
    NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,200}$/, 'must be 1–200 characters of letters, digits, ".", "_", ":" or "-"')
      .optional(),
    // Cluster mode: where the other nodes reach this one (an admin request forwarded to an
    // interview's owner); unset: PUBLIC_URL. A private address keeps that hop off the balancer.
    INTERNAL_URL: optionalUrl,
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    LOG_LEVEL: logLevel.default('info'),
    ROLE_TOKEN_TTL_HOURS: z.coerce.number().positive().max(24 * 365).default(48),
    MAX_PROCTORS_PER_INTERVIEW: z.coerce.number().int().min(1).max(1000).default(10),
    MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).max(100_000).default(100),
    // Admin API requests per client address per minute; a request with a wrong admin token counts
    // against the lower ADMIN_FAILED_AUTH_PER_MINUTE (a token guessed at is stopped quickly).
    ADMIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
    ADMIN_FAILED_AUTH_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(10),
    // On SIGTERM /healthz answers 503 this long, everything else still served, so a load balancer
    // takes the node out before it stops (at least two of its health-check intervals).
    DRAIN_SECONDS: z.coerce.number().min(0).max(600).default(5),
    // The reverse proxies whose X-Forwarded-For names the client (unset: the TCP peer is the client).
    TRUST_PROXY: proxyList.optional(),
    // https on PORT itself (both or neither): the certificate chain and its key, PEM, read again on SIGHUP.
    TLS_CERT_FILE: readableFile.optional(),
    TLS_KEY_FILE: readableFile.optional(),
    ROOM_IDLE_SECONDS: z.coerce.number().positive().max(3600).default(60),
    RECORDING_JOURNAL_SECONDS: z.coerce.number().min(0).max(60).default(0),
    FILMSTRIP: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
    // A shorter recording gets no filmstrip: its fixed cost (an ffmpeg start) would outweigh what the
    // interview itself cost (docs/PERFORMANCE.md). Tiles at least FILMSTRIP_INTERVAL_SECONDS apart.
    FILMSTRIP_MIN_SECONDS: z.coerce.number().min(0).max(24 * 3600).default(420),
    FILMSTRIP_INTERVAL_SECONDS: z.coerce.number().min(1).max(3600).default(30),
    MEDIA_URL_TTL_SECONDS: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(3600),

    ADMISSION_MAX_CPU_PERCENT: z.coerce.number().min(0).max(100).default(80),
    INTERVIEW_CPU_COST: z.coerce.number().min(0).max(64).default(0.04),
    ADMISSION_MEASURED_CPU: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
    MEDIASOUP_WORKERS: z.coerce.number().int().min(1).max(64).default(os.cpus().length),
    RTC_MIN_PORT: port(40000),
    RTC_MAX_PORT: port(49999),
    // single: every WebRTC transport of worker i shares one UDP and one TCP port, RTC_PORT + i
    // (mediasoup WebRtcServer), so a firewall opens two ports per worker; range: each transport
    // takes its own ports from RTC_MIN_PORT..RTC_MAX_PORT.
    RTC_PORT_MODE: z.enum(['single', 'range']).default('single'),
    RTC_PORT: port(1).optional(),
    RTC_LISTEN_IP: ipAddress.default('0.0.0.0'),
    RTC_ANNOUNCED_IP: ipAddress.optional(),
    // TURN for candidates and proctors behind networks that let no media through directly:
    // comma-separated turn:/turns: URLs, and coturn's static-auth-secret (REST-API credentials).
    TURN_URLS: z
      .string()
      .transform((value) => value.split(',').map((url) => url.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^turns?:[^\s]+$/, 'must be turn: or turns: URLs, comma-separated')).min(1))
      .optional(),
    TURN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    ICE_TRANSPORT_POLICY: z.enum(['all', 'relay']).default('all'),

    S3_ENDPOINT: optionalUrl,
    S3_REGION: z.string().min(1).default('auto'),
    S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name').default('interviews'),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3_PUBLIC_BASE_URL: optionalUrl,
    S3_PRESIGNED_URLS: z.enum(['true', 'false'], { message: 'must be true or false' }).default('false'),
    S3_PART_SIZE_MB: z.coerce.number().int().min(5).max(512).default(8),
    UPLOAD_RETRY_WINDOW_SECONDS: z.coerce.number().int().min(0).max(7 * 24 * 3600).default(900),
    // A failed interview is delivered again by itself: after each failed delivery the next wait of
    // this list (the last one repeats), as long as that retry falls within FAILED_UPLOAD_RETRY_DAYS
    // of the interview's end (0: never by itself; a start and retry-upload still retry it).
    FAILED_UPLOAD_RETRY_SECONDS: retryDelays.default(RETRY_DELAYS_SHAPE),
    FAILED_UPLOAD_RETRY_DAYS: z.coerce.number().min(0).max(365).default(7),
    MIN_FREE_DISK_MB: z.coerce.number().int().min(0).max(1_000_000_000).default(1024),

    SCREEN_MAX_BITRATE: bitrate(2_500_000),
    CAMERA_MAX_BITRATE: bitrate(1_500_000),
    CANDIDATE_DASHBOARD_URL: optionalUrl,
    // The host apps' origins that may use this service from their pages (socket.io, /session) and
    // frame the candidate and end pages; this service's own origin always may.
    EMBED_ORIGINS: originList.optional(),

    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    WEBHOOK_URL: optionalUrl,
    // Timeline kinds that send an `interview.flagged` webhook as they are stored: comma-separated
    // kinds of shared/timeline.ts, or `none`.
    FLAG_EVENTS: z
      .string()
      .default('screen_share_stopped')
      .transform((value) => value.split(',').map((kind) => kind.trim()).filter(Boolean))
      .superRefine((kinds, ctx) => {
        if (kinds.length === 1 && kinds[0] === 'none') return;
        const unknown = kinds.filter((kind) => !(TIMELINE_EVENT_KINDS as readonly string[]).includes(kind));
        if (kinds.length === 0 || unknown.length > 0) {
          ctx.addIssue({ code: 'custom', message: `must be timeline event kinds, comma-separated, or none; unknown: ${unknown.join(', ') || '(empty)'}; known: ${TIMELINE_EVENT_KINDS.join(', ')}` });
        }
      })
      .transform((kinds) => (kinds.length === 1 && kinds[0] === 'none' ? [] : (kinds as TimelineEventKind[]))),
    WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be whsec_ followed by at least 24 bytes in base64 (Standard Webhooks)')
      .optional(),
    RETENTION_DAYS: z.coerce.number().positive().max(36_500).optional(),
    // An unfinished multipart upload under interviews/ that no delivery owns is aborted once it is
    // older than this: more than the longest interview (4 h) and its delivery.
    STALE_UPLOAD_HOURS: z.coerce.number().min(6, 'must be at least 6 (hours: longer than the longest interview, 4 h, and its delivery)').max(8760).default(24),
  })
  .superRefine((env, ctx) => {
    if (env.RTC_MIN_PORT > env.RTC_MAX_PORT) {
      ctx.addIssue({ code: 'custom', path: ['RTC_MIN_PORT'], message: `must not exceed RTC_MAX_PORT (${env.RTC_MAX_PORT})` });
    }
    if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET'], message: 'is required when WEBHOOK_URL is set (receivers verify the signature with it)' });
    }
    if (env.RTC_PORT_MODE === 'single') {
      const first = env.RTC_PORT ?? env.RTC_MIN_PORT;
      const last = first + env.MEDIASOUP_WORKERS - 1;
      if (last > 65535) ctx.addIssue({ code: 'custom', path: ['RTC_PORT'], message: `leaves no port for worker ${env.MEDIASOUP_WORKERS} (RTC_PORT + MEDIASOUP_WORKERS − 1 > 65535)` });
      // Inside the range only at its start (the recorder's ports then begin after them), so the
      // two never hand out the same port.
      if (first !== env.RTC_MIN_PORT && first <= env.RTC_MAX_PORT && last >= env.RTC_MIN_PORT) {
        ctx.addIssue({ code: 'custom', path: ['RTC_PORT'], message: `must be RTC_MIN_PORT (${env.RTC_MIN_PORT}) or lie outside RTC_MIN_PORT..RTC_MAX_PORT` });
      }
      if (first === env.RTC_MIN_PORT && env.RTC_MAX_PORT - last < 2 * env.MEDIASOUP_WORKERS) {
        ctx.addIssue({ code: 'custom', path: ['RTC_MAX_PORT'], message: `leaves too few ports after the ${env.MEDIASOUP_WORKERS} single media port(s) at RTC_MIN_PORT` });
      }
    }
    // The nodes of a cluster share one database: a SQLite file under one node's DATA_DIR cannot be.
    if (env.REDIS_URL && !env.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'needs DATABASE_URL: the nodes of a cluster share their state in PostgreSQL' });
    }
    if (Boolean(env.TLS_CERT_FILE) !== Boolean(env.TLS_KEY_FILE)) {
      const missing = env.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'is required with TLS_CERT_FILE / TLS_KEY_FILE: set both for https, or neither' });
    }
    if (env.TURN_URLS && !env.TURN_SECRET) ctx.addIssue({ code: 'custom', path: ['TURN_SECRET'], message: 'is required when TURN_URLS is set' });
    if (env.ICE_TRANSPORT_POLICY === 'relay' && !env.TURN_URLS) {
      ctx.addIssue({ code: 'custom', path: ['ICE_TRANSPORT_POLICY'], message: 'relay needs TURN_URLS' });
    }
    if (env.S3_ENDPOINT) {
      for (const name of ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when S3_ENDPOINT is set' });
      }
    }
  });

export type RawEnv = z.infer<typeof envSchema>;
