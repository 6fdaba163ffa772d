import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withBoundPort } from '../../config/Config.ts';
import { ConfigError, loadConfig } from '../../config/loadConfig.ts';
import { envSchema } from '../../config/schema.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv/app');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  it('runs on embedded defaults when nothing is set', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.dataDir).toBe(path.resolve('/srv/app', 'data'));
    expect(config.mediasoup.workers).toBe(os.cpus().length);
    // Single-port media by default, on the range's first ports; the recorder's range starts after them.
    expect(config.mediasoup).toMatchObject({ webRtcServerPort: 40000, rtcMinPort: 40000 + os.cpus().length, rtcMaxPort: 49999 });
    expect(loadConfig({ RTC_PORT_MODE: 'range' }, '/').mediasoup).toMatchObject({ webRtcServerPort: undefined, rtcMinPort: 40000 });
    expect(config.bitrates).toEqual({ screen: 2_500_000, camera: 1_500_000 });
    expect(config.s3.endpoint).toBeUndefined();
    expect(config.s3.region).toBe('auto');
    expect(config.s3.partSizeBytes).toBe(8 * 1024 * 1024);
    expect(config.candidateDashboardUrl).toBe('http://localhost:3000/');
    expect(config.database).toEqual({ kind: 'sqlite', file: path.resolve('/srv/app', 'data', 'interview-ingest.sqlite') });
    // One node: no Redis, no cluster.
    expect(config.cluster).toBeUndefined();
  });

  it('turns cluster mode on with REDIS_URL, naming the node host:port unless NODE_ID is set', () => {
    const database = { DATABASE_URL: 'postgres://ingest@db.internal/interviews' };
    expect(loadConfig({ ...database, REDIS_URL: 'redis://127.0.0.1:6379', PORT: '3100' }, '/').cluster).toEqual({ redisUrl: 'redis://127.0.0.1:6379', nodeId: `${os.hostname()}:3100` });
    expect(loadConfig({ ...database, REDIS_URL: 'rediss://cache.internal', NODE_ID: 'node-a' }, '/').cluster).toEqual({ redisUrl: 'rediss://cache.internal', nodeId: 'node-a' });
    // INTERNAL_URL: where the other nodes reach this one (unset: they use PUBLIC_URL).
    expect(loadConfig({ ...database, REDIS_URL: 'redis://r', NODE_ID: 'node-a', INTERNAL_URL: 'http://10.0.0.11:3000/' }, '/').cluster?.internalUrl).toBe('http://10.0.0.11:3000');
    expect(() => loadConfig({ ...database, REDIS_URL: 'redis://r', INTERNAL_URL: 'http//10.0.0.11:3000' }, '/')).toThrow(/INTERNAL_URL/);
    // NODE_ID alone does not make a cluster.
    expect(loadConfig({ NODE_ID: 'node-a' }, '/').cluster).toBeUndefined();
  });

  it('with PORT=0 derives PUBLIC_URL, the dashboard link and the node id from the port the service binds, and keeps what was set', () => {
    const bound = withBoundPort(loadConfig({ PORT: '0', HOST: '127.0.0.1' }, '/'), 4321);
    expect(bound).toMatchObject({ port: 4321, publicUrl: 'http://127.0.0.1:4321', candidateDashboardUrl: 'http://127.0.0.1:4321/' });
    expect(withBoundPort(loadConfig({ PORT: '0' }, '/'), 4321).publicUrl).toBe('http://localhost:4321');
    const cluster = { DATABASE_URL: 'postgres://ingest@db.internal/interviews', REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(withBoundPort(loadConfig({ ...cluster, PORT: '0' }, '/'), 4321).cluster?.nodeId).toBe(`${os.hostname()}:4321`);
    const set = withBoundPort(loadConfig({ ...cluster, PORT: '0', NODE_ID: 'node-a', PUBLIC_URL: 'https://interviews.example.com', CANDIDATE_DASHBOARD_URL: 'https://jobs.example.com/' }, '/'), 4321);
    expect(set).toMatchObject({ port: 4321, publicUrl: 'https://interviews.example.com', candidateDashboardUrl: 'https://jobs.example.com/', cluster: { nodeId: 'node-a' } });
    // A port given is left alone.
    expect(withBoundPort(loadConfig({ PORT: '3000' }, '/'), 4321)).toMatchObject({ port: 3000, publicUrl: 'http://localhost:3000' });
  });

  it('documents exactly the variables it reads: the README configuration table names every schema variable', () => {
    const readme = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));
    const documented = new Set([...table.matchAll(/^\| (`[A-Z0-9_]+`(?: \/ `[A-Z0-9_]+`)*) \|/gm)].flatMap((row) => [...row[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!)));
    // Read by the worker loader and the bootstrap, not by the Config.
    for (const outside of ['MEDIASOUP_WORKER_BIN', 'INTERVIEW_INGEST_CACHE']) expect(documented.delete(outside)).toBe(true);
    expect([...documented].sort()).toEqual(Object.keys(envSchema._def.schema.shape).sort());
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }, '/srv/app').port).toBe(3000);
    expect(loadConfig({ DATABASE_URL: '' }, '/srv/app').database.kind).toBe('sqlite');
  });

  it('takes postgresql:// as well as postgres:// for DATABASE_URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://ingest@127.0.0.1/interviews' }, '/').database).toEqual({ kind: 'postgresql', url: 'postgresql://ingest@127.0.0.1/interviews' });
  });

  it('reads every documented variable', () => {
    // Every variable of the README's configuration table except MEDIASOUP_WORKER_BIN and
    // INTERVIEW_INGEST_CACHE, which the worker loader reads (not the Config).
    const config = loadConfig(
      {
        PORT: '8080',
        HOST: '127.0.0.2',
        PUBLIC_URL: 'https://ingest.example.com/',
        DATA_DIR: '/var/lib/ingest',
        DATABASE_URL: 'postgres://ingest:s3cret@db.internal:5432/interviews?schema=ingest',
        REDIS_URL: 'redis://:r3dis@redis.internal:6379/2',
        NODE_ID: 'ingest-b.internal:8080',
        INTERNAL_URL: 'http://10.0.0.11:8080',
        RECORDING_JOURNAL_SECONDS: '2',
        FILMSTRIP: 'false',
        FILMSTRIP_MIN_SECONDS: '600',
        FILMSTRIP_INTERVAL_SECONDS: '20',
        ADMIN_TOKEN: 'a'.repeat(20),
        LOG_LEVEL: 'debug',
        ROLE_TOKEN_TTL_HOURS: '12',
        MAX_PROCTORS_PER_INTERVIEW: '4',
        MAX_CONNECTIONS_PER_IP: '50',
        ADMIN_RATE_LIMIT_PER_MINUTE: '120',
        ADMIN_FAILED_AUTH_PER_MINUTE: '5',
        DRAIN_SECONDS: '8',
        TRUST_PROXY: '10.0.0.2,10.1.0.0/16',
        MEDIA_URL_TTL_SECONDS: '600',
        ROOM_IDLE_SECONDS: '30',
        ADMISSION_MAX_CPU_PERCENT: '70',
        INTERVIEW_CPU_COST: '0.05',
        ADMISSION_MEASURED_CPU: 'false',
        MEDIASOUP_WORKERS: '3',
        RTC_MIN_PORT: '41000',
        RTC_MAX_PORT: '41999',
        RTC_PORT_MODE: 'single',
        RTC_PORT: '42000',
        RTC_LISTEN_IP: '10.0.0.5',
        RTC_ANNOUNCED_IP: '203.0.113.7',
        TURN_URLS: 'turn:turn.example.com:3478?transport=udp, turns:turn.example.com:5349?transport=tcp',
        TURN_SECRET: 'coturn-static-auth-secret',
        ICE_TRANSPORT_POLICY: 'relay',
        S3_ENDPOINT: 'https://acct.r2.cloudflarestorage.com',
        S3_REGION: 'eu-west-1',
        S3_BUCKET: 'recordings',
        S3_ACCESS_KEY_ID: 'key',
        S3_SECRET_ACCESS_KEY: 'secret',
        S3_PUBLIC_BASE_URL: 'https://media.example.com/',
        S3_PRESIGNED_URLS: 'true',
        S3_PART_SIZE_MB: '16',
        UPLOAD_RETRY_WINDOW_SECONDS: '60',
        FAILED_UPLOAD_RETRY_SECONDS: '30, 90,600',
        FAILED_UPLOAD_RETRY_DAYS: '2.5',
        MIN_FREE_DISK_MB: '2048',
        SCREEN_MAX_BITRATE: '3000000',
        CAMERA_MAX_BITRATE: '1000000',
        CANDIDATE_DASHBOARD_URL: 'https://jobs.example.com/dashboard',
        EMBED_ORIGINS: 'https://app.example.com, http://localhost:8080',
        METRICS_TOKEN: 'm'.repeat(20),
        WEBHOOK_URL: 'https://hiring.example.com/hooks',
        WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        RETENTION_DAYS: '30',
        FLAG_EVENTS: 'screen_share_stopped, pasted',
        STALE_UPLOAD_HOURS: '48',
      },
      '/',
    );
    expect(config).toEqual({
      port: 8080,
      host: '127.0.0.2',
      publicUrl: 'https://ingest.example.com',
      dataDir: '/var/lib/ingest',
      database: { kind: 'postgresql', url: 'postgres://ingest:s3cret@db.internal:5432/interviews?schema=ingest' },
      cluster: { redisUrl: 'redis://:r3dis@redis.internal:6379/2', nodeId: 'ingest-b.internal:8080', internalUrl: 'http://10.0.0.11:8080' },
      recordingJournalMs: 2000,
      filmstrip: false,
      filmstripOptions: { minRecordingSeconds: 600, minIntervalSeconds: 20 },
      minFreeDiskBytes: 2048 * 1024 * 1024,
      adminToken: 'a'.repeat(20),
      logLevel: 'debug',
      roleTokenTtlSeconds: 12 * 3600,
      limits: { proctorsPerInterview: 4, connectionsPerIp: 50, adminRequestsPerMinute: 120, adminFailedAuthPerMinute: 5 },
      drainMs: 8000,
      trustedProxies: ['10.0.0.2', '10.1.0.0/16'],
      admission: { maxCpuFraction: 0.7, cpuCostPerInterview: 0.05, measuredCpu: false },
      roomIdleMs: 30_000,
      mediaUrlTtlSeconds: 600,
      mediasoup: { workers: 3, rtcMinPort: 41000, rtcMaxPort: 41999, webRtcServerPort: 42000, listenIp: '10.0.0.5', announcedIp: '203.0.113.7' },
      s3: {
        endpoint: 'https://acct.r2.cloudflarestorage.com',
        region: 'eu-west-1',
        bucket: 'recordings',
        accessKeyId: 'key',
        secretAccessKey: 'secret',
        publicBaseUrl: 'https://media.example.com',
        presignedUrls: true,
        partSizeBytes: 16 * 1024 * 1024,
        uploadRetryWindowMs: 60_000,
      },
      failedRetry: { delaysMs: [30_000, 90_000, 600_000], forMs: 2.5 * 24 * 3600 * 1000 },
      turn: { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'], secret: 'coturn-static-auth-secret' },
      iceTransportPolicy: 'relay',
      bitrates: { screen: 3_000_000, camera: 1_000_000 },
      candidateDashboardUrl: 'https://jobs.example.com/dashboard',
      embedOrigins: ['https://app.example.com', 'http://localhost:8080'],
      metricsToken: 'm'.repeat(20),
      webhooks: { url: 'https://hiring.example.com/hooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      flagEvents: ['screen_share_stopped', 'pasted'],
      retentionDays: 30,
      staleUploadMs: 48 * 3600_000,
    });
  });

  describe('with a .env file in the working directory', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dotenv-'));
      fs.writeFileSync(path.join(dir, '.env'), 'PORT=4567\nLOG_LEVEL=debug\nS3_BUCKET=from-dotenv\n');
    });
    afterEach(() => {
      vi.unstubAllEnvs();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('fills the variables the environment leaves unset, and the environment wins', () => {
      vi.stubEnv('PORT', undefined);
      vi.stubEnv('S3_BUCKET', undefined);
      vi.stubEnv('LOG_LEVEL', 'warn');
      const config = loadConfig(process.env, dir);
      expect(config.port).toBe(4567);
      expect(config.s3.bucket).toBe('from-dotenv');
      expect(config.logLevel).toBe('warn');
      // The file fills the Config only: it does not leak into the process environment.
      expect(process.env.PORT).toBeUndefined();
    });

    it('is not read for an explicit environment (as tests pass)', () => {
      expect(loadConfig({}, dir).port).toBe(3000);
    });
  });

  it.each([
    ['a port that is not a number', { PORT: 'abc' }, 'PORT'],
    ['a port out of range', { PORT: '70000' }, 'PORT'],
    ['a malformed URL', { PUBLIC_URL: 'not a url' }, 'PUBLIC_URL'],
    ['an IP that is not an IP', { RTC_ANNOUNCED_IP: '1.2.3' }, 'RTC_ANNOUNCED_IP'],
    ['a worker count of zero', { MEDIASOUP_WORKERS: '0' }, 'MEDIASOUP_WORKERS'],
    ['a fractional worker count', { MEDIASOUP_WORKERS: '1.5' }, 'MEDIASOUP_WORKERS'],
    ['an inverted RTC port range', { RTC_MIN_PORT: '50000', RTC_MAX_PORT: '40000' }, 'RTC_MIN_PORT'],
    ['a single media port inside the range but not at its start', { RTC_PORT: '45000' }, 'RTC_PORT'],
    ['an unknown RTC port mode', { RTC_PORT_MODE: 'both' }, 'RTC_PORT_MODE'],
    ['TURN URLs without a secret', { TURN_URLS: 'turn:turn.example.com' }, 'TURN_SECRET'],
    ['a TURN URL that is not one', { TURN_URLS: 'https://turn.example.com', TURN_SECRET: 'x'.repeat(16) }, 'TURN_URLS'],
    ['a flagged kind that is no timeline kind', { FLAG_EVENTS: 'screen_share_stopped,tab_hiden' }, 'FLAG_EVENTS'],
    ['relay-only ICE without TURN', { ICE_TRANSPORT_POLICY: 'relay' }, 'ICE_TRANSPORT_POLICY'],
    ['a too-short admin token', { ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    ['an invalid bucket name', { S3_BUCKET: 'Has_Upper' }, 'S3_BUCKET'],
    ['a part size below the 5 MiB multipart minimum', { S3_PART_SIZE_MB: '4' }, 'S3_PART_SIZE_MB'],
    ['an unknown log level', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ['a bitrate too low to be real', { SCREEN_MAX_BITRATE: '10' }, 'SCREEN_MAX_BITRATE'],
    ['an S3 endpoint without credentials', { S3_ENDPOINT: 'https://s3.example.com' }, 'S3_ACCESS_KEY_ID'],
    ['a database URL that is not a URL', { DATABASE_URL: 'db.internal:5432' }, 'DATABASE_URL'],
    ['a database URL of another database', { DATABASE_URL: 'mysql://u:p@db.internal/interviews' }, 'DATABASE_URL'],
    ['a database URL without a database name', { DATABASE_URL: 'postgres://u:p@db.internal:5432/' }, 'DATABASE_URL'],
    ['a database URL without a host', { DATABASE_URL: 'postgres:///interviews' }, 'DATABASE_URL'],
    ['a database URL with a parameter the driver would ignore', { DATABASE_URL: 'postgres://u:p@db.internal/interviews?sslmode=require' }, 'DATABASE_URL'],
    ['a Redis URL that is not a URL', { DATABASE_URL: 'postgres://u@db/i', REDIS_URL: 'cache.internal:6379' }, 'REDIS_URL'],
    ['a Redis URL of another scheme', { DATABASE_URL: 'postgres://u@db/i', REDIS_URL: 'http://cache.internal:6379' }, 'REDIS_URL'],
    ['a Redis URL with a path that is not a database number', { DATABASE_URL: 'postgres://u@db/i', REDIS_URL: 'redis://cache.internal/sessions' }, 'REDIS_URL'],
    ['cluster mode without a shared database', { REDIS_URL: 'redis://cache.internal:6379' }, 'REDIS_URL'],
    ['a node id with spaces', { NODE_ID: 'node a' }, 'NODE_ID'],
    ['an embed origin with a path', { EMBED_ORIGINS: 'https://app.example.com/interviews' }, 'EMBED_ORIGINS'],
    ['an embed origin with a trailing slash', { EMBED_ORIGINS: 'https://app.example.com/' }, 'EMBED_ORIGINS'],
    ['an embed origin without a scheme', { EMBED_ORIGINS: 'app.example.com' }, 'EMBED_ORIGINS'],
    ['an embed origin of another scheme', { EMBED_ORIGINS: 'ftp://app.example.com' }, 'EMBED_ORIGINS'],
    ['an embed origin with credentials', { EMBED_ORIGINS: 'https://user@app.example.com' }, 'EMBED_ORIGINS'],
    ['a wildcard embed origin', { EMBED_ORIGINS: '*' }, 'EMBED_ORIGINS'],
    ['embed origins that are only commas', { EMBED_ORIGINS: ' , ,' }, 'EMBED_ORIGINS'],
    ['a trusted proxy that is a host name', { TRUST_PROXY: 'proxy.internal' }, 'TRUST_PROXY'],
    ['a trusted proxy range with a prefix too long', { TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY'],
    ['trusted proxies that are only commas', { TRUST_PROXY: ' , ' }, 'TRUST_PROXY'],
    ['a TLS certificate without its key', { TLS_CERT_FILE: import.meta.filename }, 'TLS_KEY_FILE'],
    ['a TLS key without its certificate', { TLS_KEY_FILE: import.meta.filename }, 'TLS_CERT_FILE'],
    ['a TLS certificate file that does not exist', { TLS_CERT_FILE: '/nonexistent/cert.pem', TLS_KEY_FILE: import.meta.filename }, 'TLS_CERT_FILE'],
    ['a TLS key that is a directory', { TLS_CERT_FILE: import.meta.filename, TLS_KEY_FILE: import.meta.dirname }, 'TLS_KEY_FILE'],
    ['a retry wait that is not a number', { FAILED_UPLOAD_RETRY_SECONDS: '60,soon' }, 'FAILED_UPLOAD_RETRY_SECONDS'],
    ['a retry wait of zero', { FAILED_UPLOAD_RETRY_SECONDS: '0,60' }, 'FAILED_UPLOAD_RETRY_SECONDS'],
    ['a fractional retry wait', { FAILED_UPLOAD_RETRY_SECONDS: '1.5' }, 'FAILED_UPLOAD_RETRY_SECONDS'],
    ['a retry wait longer than a day', { FAILED_UPLOAD_RETRY_SECONDS: '60,90000' }, 'FAILED_UPLOAD_RETRY_SECONDS'],
    ['an empty entry among the retry waits', { FAILED_UPLOAD_RETRY_SECONDS: '60,,120' }, 'FAILED_UPLOAD_RETRY_SECONDS'],
    ['a negative retry bound', { FAILED_UPLOAD_RETRY_DAYS: '-1' }, 'FAILED_UPLOAD_RETRY_DAYS'],
    ['a retry bound longer than a year', { FAILED_UPLOAD_RETRY_DAYS: '400' }, 'FAILED_UPLOAD_RETRY_DAYS'],
    ['a stale-upload bound shorter than the longest interview', { STALE_UPLOAD_HOURS: '4' }, 'STALE_UPLOAD_HOURS'],
    ['a stale-upload bound that is not a number', { STALE_UPLOAD_HOURS: 'a day' }, 'STALE_UPLOAD_HOURS'],
  ])('rejects %s with a message naming the variable', (_what, env, variable) => {
    const problems = problemsOf(env);
    expect(problems.some((line) => line.startsWith(`${variable}:`))).toBe(true);
  });

  it('takes EMBED_ORIGINS as the origins browsers send: lowercase host, default port dropped, duplicates once, none by default', () => {
    expect(loadConfig({ EMBED_ORIGINS: 'https://App.Example.com:443,http://127.0.0.1:8080 , https://app.example.com' }, '/').embedOrigins).toEqual([
      'https://app.example.com',
      'http://127.0.0.1:8080',
    ]);
    expect(loadConfig({}, '/').embedOrigins).toEqual([]);
  });

  it('takes TRUST_PROXY as addresses and CIDR ranges (IPv4 and IPv6), trusting nobody by default', () => {
    expect(loadConfig({}, '/').trustedProxies).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,fd00::/8,::1,127.0.0.1' }, '/').trustedProxies).toEqual(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1']);
    const problems = problemsOf({ TRUST_PROXY: '127.0.0.1,10.0.0.0/8/8,*' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^TRUST_PROXY: must be comma-separated proxy addresses or CIDR ranges like 127\.0\.0\.1,10\.0\.0\.0\/8; not an address or range: "10\.0\.0\.0\/8\/8", "\*"/);
  });

  it('serves https with TLS_CERT_FILE and TLS_KEY_FILE, and then defaults PUBLIC_URL to https', () => {
    expect(loadConfig({}, '/').tls).toBeUndefined();
    const config = loadConfig({ TLS_CERT_FILE: import.meta.filename, TLS_KEY_FILE: import.meta.filename, PORT: '8443' }, '/');
    expect(config.tls).toEqual({ certFile: import.meta.filename, keyFile: import.meta.filename });
    expect(config.publicUrl).toBe('https://localhost:8443');
  });

  it('names every malformed embed origin in one message', () => {
    const problems = problemsOf({ EMBED_ORIGINS: 'https://ok.example.com,https://a.example.com/x,b.example.com' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^EMBED_ORIGINS: must be comma-separated origins like https:\/\/app\.example\.com .*not an origin: "https:\/\/a\.example\.com\/x", "b\.example\.com"/);
  });

  it('shows the bad value, but never a secret', () => {
    expect(problemsOf({ PORT: 'abc' })[0]).toContain('"abc"');
    expect(problemsOf({ ADMIN_TOKEN: 'short' })[0]).not.toContain('short"');
    // A database URL carries its password.
    const [databaseProblem] = problemsOf({ DATABASE_URL: 'mysql://ingest:hunter2-password@db.internal/interviews' });
    expect(databaseProblem).toMatch(/^DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(databaseProblem).not.toContain('hunter2');
    const [redisProblem] = problemsOf({ DATABASE_URL: 'postgres://u@db/i', REDIS_URL: 'http://:hunter3-password@cache.internal' });
    expect(redisProblem).toMatch(/^REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(redisProblem).not.toContain('hunter3');
  });
});
