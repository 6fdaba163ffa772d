// Cluster bench (issue 11, part 8), not part of npm test:
//   npx tsx bench/clusterRamp.ts --interviews 10 --seconds 30 [--nodes 2] [--journal-seconds 2]
//
// PostgreSQL and Redis (the test harnesses), the object store in its own process, and `--nodes`
// service nodes in this process (each a full Service with its own mediasoup workers, recorder and
// remux ffmpegs, on the shared database and Redis; the journal on, as a cluster runs). N interviews
// are created through alternating nodes (each goes where placement sends it) and fed by the single-
// node bench's synthetic publishers; CPU is measured per group of processes as bench/run.ts does.
// Then every interview is ended at once, each through a node in turn (forwarded to its owner), and
// end → URLs is timed. `--nodes 1` is the same setup as one node (no Redis, no journal): the
// single-node baseline on the same database.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { destination, pino } from 'pino';
import { loadConfig } from '../config/loadConfig.ts';
import { trackNames } from '../recorder-pipeline/tracks.ts';
import { Service } from '../server/Service.ts';
import { ensureMediaFixtures } from '../test/support/mediaFixtures.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { startRedis, type RedisServer } from '../test/support/redis.ts';
import { SyntheticPublisher } from '../test/support/syntheticPublisher.ts';
import { tempDir } from '../test/support/testConfig.ts';
import { CpuMeter, machineCpu, percentile, round } from './procStats.ts';
import { api, checkStored, startS3 } from './run.ts';

interface Options {
  interviews: number;
  seconds: number;
  nodes: number;
  journalSeconds: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const nodes = Number(value('nodes') ?? 2);
  return {
    interviews: Number(value('interviews') ?? 10),
    seconds: Number(value('seconds') ?? 30),
    nodes,
    journalSeconds: Number(value('journal-seconds') ?? (nodes > 1 ? 2 : 0)),
    out: value('out') ?? path.join(import.meta.dirname, 'results'),
  };
}

/** A process and its children, from /proc (PostgreSQL's backends are the postmaster's children). */
function withChildren(pid: number): number[] {
  try {
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children.flatMap(withChildren)];
  } catch {
    return [];
  }
}

/** Polls `condition` until it holds or the deadline passes; false when it never held. A check that throws (a Redis command past its deadline on a busy machine) counts as not yet. */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await delay(100)) {
    if (await Promise.resolve(condition()).catch(() => false)) return true;
  }
  return false;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const cluster = options.nodes > 1;
  fs.mkdirSync(options.out, { recursive: true });
  await ensureMediaFixtures();
  const stamp = new Date().toISOString().replaceAll(':', '-').slice(0, 19);
  const dataRoot = tempDir('interview-ingest-cluster-bench-');
  const postgres = await startPostgres();
  const redis: RedisServer | undefined = cluster ? await startRedis() : undefined;
  const s3 = await startS3(path.join(dataRoot, 'object-store'));
  const publishers: SyntheticPublisher[] = [];
  const services: Service[] = [];
  const cleanUp = async () => {
    await Promise.all(publishers.map((publisher) => publisher.close()));
    for (const service of services) await service.close().catch(() => undefined);
    s3.process.kill('SIGTERM');
    await Promise.all([postgres.stop(), redis?.stop()]);
    fs.rmSync(dataRoot, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
  try {
    const databaseUrl = await postgres.createDatabase('bench');
    // The same two mediasoup workers in all: one per node in a cluster of two, two on a single node.
    const workersPerNode = Math.max(1, Math.round(os.cpus().length / options.nodes));
    // Each node gets its own slice of the RTC ports (all nodes share this machine).
    const slice = Math.floor(5000 / options.nodes);
    for (let index = 0; index < options.nodes; index++) {
      const nodeId = `node-${String.fromCharCode(97 + index)}`;
      const config = loadConfig(
        {
          // The port the system picks, bound by the service (PUBLIC_URL follows it).
          PORT: '0',
          HOST: '127.0.0.1',
          DATA_DIR: path.join(dataRoot, nodeId),
          DATABASE_URL: databaseUrl,
          ...(redis ? { REDIS_URL: redis.url, NODE_ID: nodeId } : {}),
          RECORDING_JOURNAL_SECONDS: String(options.journalSeconds),
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
          ADMIN_TOKEN: 'bench-admin-token-0123456789',
          // The load generator drives and polls the admin API from one address far past an operator's rate.
          ADMIN_RATE_LIMIT_PER_MINUTE: '1000000',
          // Measured past where admission would refuse, as the single-node ramp does.
          ADMISSION_MAX_CPU_PERCENT: '0',
          MEDIASOUP_WORKERS: String(workersPerNode),
          RTC_LISTEN_IP: '127.0.0.1',
          RTC_MIN_PORT: String(10000 + index * slice),
          RTC_MAX_PORT: String(10000 + (index + 1) * slice - 1),
          S3_ENDPOINT: s3.endpoint,
          S3_ACCESS_KEY_ID: 'S3RVER',
          S3_SECRET_ACCESS_KEY: 'S3RVER',
          S3_BUCKET: 'interviews',
          ...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
        },
        os.tmpdir(),
      );
      const logger = pino({ level: config.logLevel }, destination({ dest: path.join(options.out, `cluster-${stamp}-${nodeId}.log`), sync: false, mkdir: true }));
      // One at a time: the first migrates the fresh database.
      services.push(await Service.create(config, { logger }));
    }
    const nodeOf = new Map(services.map((service) => [new URL(service.localUrl).origin, service]));
    const idleStart = machineCpu();
    await delay(5000);
    const backgroundBusyCores = round((machineCpu().busy - idleStart.busy) / 100 / 5, 3);
    console.log(`${options.nodes} node(s), ${workersPerNode} worker(s) each, journal ${options.journalSeconds} s; background load ${backgroundBusyCores} cores busy`);

    // Created through alternating nodes; each goes live on the node its link names.
    const placed = new Map<string, Service>();
    for (let i = 0; i < options.interviews; i++) {
      const via = services[i % services.length]!;
      const created = await api<{ id: string; candidateUrl: string }>(via, 'POST', '/api/interviews', { durationSeconds: 3600, candidateName: `cluster bench ${i}` });
      const node = nodeOf.get(new URL(created.candidateUrl).origin) ?? via;
      placed.set(created.id, node);
      const room = await node.sessions.open(created.id).openRoom();
      const publisher = await SyntheticPublisher.start({ router: room.router, srtp: true });
      for (const track of trackNames) room.adoptProducer(track, publisher.producers[track]);
      publishers.push(publisher);
      // The next placement sees this one: the node's heartbeat counts it (beats every 0.5 s).
      if (node.nodes) await until(async () => ((await node.nodes!.nodes()).find((beat) => beat.nodeId === node.nodes!.nodeId)?.liveSessions ?? 0) >= [...placed.values()].filter((s) => s === node).length, 5000);
    }
    const ids = [...placed.keys()];
    const recording = async () => {
      let count = 0;
      for (const [id, node] of placed) {
        const session = node.sessions.get(id)?.recording;
        if (session && (await session.stats()).bytesWritten.screen > 0) count++;
      }
      return count;
    };
    if (!(await until(async () => (await recording()) === ids.length, 60_000 + ids.length * 1000))) console.log(`only ${await recording()} of ${ids.length} recordings started`);
    let owners: Array<string | undefined> = ids.map(() => 'single');
    if (cluster) await until(async () => (owners = await services[0]!.leases!.ownersOf(ids)).every((owner) => owner !== undefined), 10_000);
    const placement: Record<string, number> = {};
    for (const owner of owners) placement[owner ?? 'none'] = (placement[owner ?? 'none'] ?? 0) + 1;
    console.log(`placement (lease owners): ${JSON.stringify(placement)}`);
    await delay(3000);

    const groups = () => {
      const perNode: Record<string, number[]> = {};
      services.forEach((service, index) => {
        const name = cluster ? `node-${String.fromCharCode(97 + index)}` : 'node';
        perNode[`${name} mediasoup`] = service.workers.workers.map((worker) => worker.pid);
        perNode[`${name} recorder ffmpeg`] = service.sessions.sessions.flatMap((session) => (session.recording?.ffmpegPid ? [session.recording.ffmpegPid] : []));
        perNode[`${name} remux ffmpeg`] = service.sessions.sessions.flatMap((session) => session.progressive?.remuxPids() ?? []);
      });
      return {
        'service (all nodes, one process)': [process.pid],
        ...perNode,
        'object store': s3.process.pid ? [s3.process.pid] : [],
        postgres: withChildren(postgres.pid),
        ...(redis ? { redis: [redis.pid] } : {}),
        'publishers (load generator)': publishers.map((publisher) => publisher.pid).filter((pid): pid is number => pid !== undefined),
      };
    };
    const meter = new CpuMeter(groups);
    meter.start();
    console.log(`measuring for ${options.seconds} s`);
    await delay(options.seconds * 1000);
    const usage = meter.stop();

    // End every interview at once, through the nodes in turn (a node that does not own one forwards it).
    const completedAt = new Map<string, { at: number; ok: boolean }>();
    for (const service of services) {
      service.sessions.on('completed', (interview) => completedAt.set(interview.id, { at: Date.now(), ok: true }));
      service.sessions.on('failed', (interview) => completedAt.set(interview.id, { at: Date.now(), ok: false }));
    }
    const endedAt = new Map<string, number>();
    await Promise.all(
      ids.map(async (id, index) => {
        endedAt.set(id, Date.now());
        await api(services[index % services.length]!, 'POST', `/api/interviews/${id}/end`, {}).catch((error: unknown) => console.log(`ending ${id} failed: ${String(error)}`));
      }),
    );
    await until(() => ids.every((id) => completedAt.has(id)), 300_000);
    await Promise.all(publishers.splice(0).map((publisher) => publisher.close()));
    const latencies = ids.filter((id) => completedAt.get(id)?.ok).map((id) => completedAt.get(id)!.at - endedAt.get(id)!);

    let broken = 0;
    const problems: string[] = [];
    for (const id of ids) {
      const startedAt = (await services[0]!.interviews.find(id))?.startedAt?.getTime() ?? endedAt.get(id)!;
      for (const kind of ['screen', 'candidate'] as const) {
        const check = await checkStored(services[0]!, `interviews/${id}/${kind}.webm`, (endedAt.get(id)! - startedAt) / 1000);
        if (!check.ok) {
          broken++;
          problems.push(...check.problems);
        }
      }
    }

    const n = ids.length;
    const g = usage.groups;
    const sumOf = (match: (name: string) => boolean) => round(Object.entries(g).filter(([name]) => match(name)).reduce((total, [, group]) => total + group.cores, 0), 3);
    const pipeline = sumOf((name) => name.startsWith('service') || / (mediasoup|recorder ffmpeg|remux ffmpeg)$/.test(name));
    const result = {
      options,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, backgroundBusyCores },
      placement,
      seconds: usage.seconds,
      machineBusyCores: usage.machineBusyCores,
      cpu: g,
      perInterview: {
        pipelineCores: round(pipeline / n, 4),
        serviceCores: round(sumOf((name) => name.startsWith('service')) / n, 4),
        mediasoupCores: round(sumOf((name) => name.endsWith(' mediasoup')) / n, 4),
        ffmpegCores: round(sumOf((name) => name.endsWith(' ffmpeg')) / n, 4),
        clusterInfraCores: round(sumOf((name) => name === 'postgres' || name === 'redis') / n, 4),
        objectStoreCores: round(sumOf((name) => name === 'object store') / n, 4),
      },
      endToUrlsMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies), failed: n - latencies.length },
      files: { checked: 2 * n, broken, problems: problems.slice(0, 10) },
    };
    const file = path.join(options.out, `cluster-${stamp}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2));
    console.log(JSON.stringify({ placement, machineBusyCores: result.machineBusyCores, perInterview: result.perInterview, endToUrlsMs: result.endToUrlsMs, files: result.files }, null, 2));
    console.log(`cpu by group (cores): ${JSON.stringify(Object.fromEntries(Object.entries(g).map(([name, group]) => [name, group.cores])))}`);
    console.log(`results: ${file}`);
  } finally {
    await cleanUp();
  }
}

await main();
process.exit(0);
