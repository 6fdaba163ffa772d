import fs from 'node:fs';
import { pino } from 'pino';
import { closeRedisClient, openRedisClient, type RedisClient } from '../../server/cluster/redisClient.ts';
import { EmbeddedS3Server } from '../../server/storage/EmbeddedS3Server.ts';
import { startPostgres, type PostgresServer } from './postgres.ts';
import { startRedis, type RedisServer } from './redis.ts';
import { tempDir } from './testConfig.ts';

/** What the nodes of a test cluster share: one PostgreSQL, one Redis and one external object store. */
export interface ClusterBackends {
  postgres: PostgresServer;
  redis: RedisServer;
  s3: EmbeddedS3Server;
  /** The test's own Redis connection, to read the cluster's keys (leases, nodes). */
  admin: RedisClient;
  /** DATABASE_URL, REDIS_URL and the S3 settings, for every node's environment. */
  env: Record<string, string>;
  /** Stops all of them and removes the object store's directory. */
  close(): Promise<void>;
}

/** Starts the shared parts of a cluster; `database` names the PostgreSQL database the nodes use. */
export async function startClusterBackends(database: string): Promise<ClusterBackends> {
  const s3Dir = tempDir('cluster-s3-');
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const s3 = await EmbeddedS3Server.start({ directory: s3Dir, bucket: 'interviews' });
  const admin = await openRedisClient({ url: redis.url, name: 'test', offlineQueue: false, logger: pino({ level: 'silent' }) });
  return {
    postgres,
    redis,
    s3,
    admin,
    env: {
      DATABASE_URL: await postgres.createDatabase(database),
      REDIS_URL: redis.url,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: EmbeddedS3Server.accessKeyId,
      S3_SECRET_ACCESS_KEY: EmbeddedS3Server.secretAccessKey,
    },
    async close() {
      await closeRedisClient(admin);
      await s3.close();
      await Promise.all([postgres.stop(), redis.stop()]);
      fs.rmSync(s3Dir, { recursive: true, force: true });
    },
  };
}
