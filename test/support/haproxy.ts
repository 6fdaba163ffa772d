// Debian's HAProxy in front of test nodes, configured from deploy/haproxy.cfg exactly as an operator
// would (its placeholders filled in, after a global section like Debian's own), on a free port with
// a run-time test CA. Everything HAProxy writes (its stats socket, the PEM it serves) stays in its
// own temp dir; close() stops it by pid and removes the dir. While it runs, its stats socket is
// read every 50 ms and each change of a server's status is recorded with the time it was seen, so a
// test can tell when HAProxy took a server out.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceptsConnections, stopProxy } from './proxyProcess.ts';
import { issueServerCertificate, makeTestCa, type ServerCertificate, type TestCa } from './testCertificates.ts';
import { freePort, tempDir, waitFor } from './testConfig.ts';

const TEMPLATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'haproxy.cfg');
const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
const STATUS_POLL_MS = 50;

interface HaproxyNode {
  /** The node's own host name (its PUBLIC_URL's host). */
  host: string;
  /** host:port where the node listens. */
  address: string;
}

export interface HaproxyOptions {
  /** node1, node2 and node3 of deploy/haproxy.cfg. */
  nodes: readonly [HaproxyNode, HaproxyNode, HaproxyNode];
  /** The shared name (the pool); the certificate covers it and the nodes' names. */
  sharedHost: string;
  /** The address HAProxy connects to the nodes from (their TRUST_PROXY). */
  proxyAddress: string;
  /** The public port; picked free when not given (it must then be known before the nodes start). */
  port?: number;
}

/** One server's status as HAProxy's `show stat` gives it: `UP`, `UP 1/2` (failing), `DOWN`, `no check`, … */
interface ServerStatus {
  backend: string;
  server: string;
  status: string;
}

interface StatusChange extends ServerStatus {
  /** When the poll that saw the new status got its answer (ms since the epoch). */
  at: number;
}

/** A server going UP or DOWN, as HAProxy logged it, at HAProxy's own time. */
interface LoggedChange {
  at: number;
  backend: string;
  server: string;
  state: 'UP' | 'DOWN';
}

export interface TestHaproxy {
  port: number;
  /** https://<host>:<port> */
  url: (host: string) => string;
  ca: TestCa;
  certificate: ServerCertificate;
  /** Every status change seen since the start, in order (the first entry of each server is its status at start). */
  changes: readonly StatusChange[];
  /** The status of `backend/server` now (`show stat`). */
  status: (backend: string, server: string) => Promise<string>;
  /** What HAProxy wrote (its log: requests and health-check changes), for failure messages. */
  log: () => string;
  /** The servers HAProxy logged going UP or DOWN (its log lines carry their time, to the microsecond). */
  loggedChanges: () => LoggedChange[];
  close: () => Promise<void>;
}

/** deploy/haproxy.cfg with its ${PLACEHOLDERS} replaced; throws if one is left unfilled. */
function fillHaproxyTemplate(values: Record<string, string>): string {
  const text = fs.readFileSync(TEMPLATE, 'utf8');
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string, offset: number) => {
    // The comments name the placeholders too: only the directives are filled.
    const lineStart = text.lastIndexOf('\n', offset) + 1;
    if (text.slice(lineStart, offset).trimStart().startsWith('#')) return whole;
    const value = values[name];
    if (value === undefined) throw new Error(`deploy/haproxy.cfg: no value for \${${name}}`);
    return value;
  });
}

/** A free port, for a test that must know HAProxy's port before it starts the nodes (PUBLIC_URL). */
export const pickHaproxyPort = freePort;

export async function startHaproxy(options: HaproxyOptions): Promise<TestHaproxy> {
  const dir = tempDir('interview-ingest-haproxy-');
  let child: ChildProcess | undefined;
  let polling: NodeJS.Timeout | undefined;
  try {
    const ca = makeTestCa(dir);
    const certificate = issueServerCertificate(ca, 'server', [options.sharedHost, ...options.nodes.map((node) => node.host)]);
    // HAProxy reads the chain and its key from one file.
    const pemFile = path.join(dir, 'haproxy.pem');
    fs.writeFileSync(pemFile, certificate.pem + fs.readFileSync(certificate.keyFile, 'utf8'), { mode: 0o600 });
    const port = options.port ?? (await freePort());
    const site = path.join(dir, 'interview-ingest.cfg');
    const [node1, node2, node3] = options.nodes;
    fs.writeFileSync(
      site,
      fillHaproxyTemplate({
        LISTEN: `127.0.0.1:${port}`,
        TLS_PEM_FILE: pemFile,
        PROXY_ADDRESS: options.proxyAddress,
        NODE1_HOST: node1.host,
        NODE1_ADDRESS: node1.address,
        NODE2_HOST: node2.host,
        NODE2_ADDRESS: node2.address,
        NODE3_HOST: node3.host,
        NODE3_ADDRESS: node3.address,
      }),
    );
    // Debian's global section (/etc/haproxy/haproxy.cfg) without what needs a system install
    // (chroot, the haproxy user, daemon mode, /dev/log): the log goes to stdout, read by the test.
    const socket = path.join(dir, 'admin.sock');
    const global = path.join(dir, 'global.cfg');
    fs.writeFileSync(
      global,
      [
        'global',
        '    log stdout format iso local0 info',
        `    stats socket ${socket} mode 600 level admin`,
        '    stats timeout 30s',
        // A port another process holds fails the start (SO_REUSEPORT would share it silently).
        '    noreuseport',
        '    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384',
        '    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
        '    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets',
        '',
      ].join('\n'),
    );
    // -db: in the foreground, so the pid is HAProxy's own and its log reaches the pipe.
    const spawned = spawn(HAPROXY, ['-db', '-f', global, '-f', site], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = spawned;
    const output: string[] = [];
    const collect = (chunk: Buffer) => output.push(chunk.toString());
    spawned.stdout?.on('data', collect);
    spawned.stderr?.on('data', collect);
    const log = () => output.join('');
    // A HAProxy that exits at start (a taken port, a bad directive) fails the start at once, with its output.
    const exited = new Promise<never>((_resolve, reject) => spawned.once('exit', (code) => reject(new Error(`haproxy exited (${code}): ${log()}`))));
    exited.catch(() => undefined);
    await Promise.race([waitFor(async () => (await acceptsConnections(port)) && fs.existsSync(socket), { timeoutMs: 10_000, what: `haproxy listening on ${port}` }), exited]);

    const changes: StatusChange[] = [];
    const last = new Map<string, string>();
    let stopped = false;
    const poll = async () => {
      try {
        const statuses = await showStat(socket);
        const at = Date.now();
        for (const entry of statuses) {
          const key = `${entry.backend}/${entry.server}`;
          if (last.get(key) === entry.status) continue;
          last.set(key, entry.status);
          changes.push({ ...entry, at });
        }
      } catch {
        // HAProxy is stopping; the next poll (if any) tries again.
      }
      if (!stopped) polling = setTimeout(() => void poll(), STATUS_POLL_MS);
    };
    await poll();
    return {
      port,
      url: (host) => `https://${host}:${port}`,
      ca,
      certificate,
      changes,
      status: async (backend, server) => (await showStat(socket)).find((entry) => entry.backend === backend && entry.server === server)?.status ?? 'absent',
      log,
      loggedChanges: () => loggedChanges(log()),
      close: async () => {
        stopped = true;
        clearTimeout(polling);
        await stopProxy(spawned, dir);
      },
    };
  } catch (error) {
    clearTimeout(polling);
    if (child) await stopProxy(child, dir);
    else fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `<ISO time> Server <backend>/<server> is UP|DOWN, …` lines of HAProxy's log (global `log … format iso`). */
function loggedChanges(log: string): LoggedChange[] {
  const changes: LoggedChange[] = [];
  for (const match of log.matchAll(/^(\S+) Server ([^/\s]+)\/(\S+) is (UP|DOWN)\b/gm)) {
    changes.push({ at: Date.parse(match[1]!), backend: match[2]!, server: match[3]!, state: match[4] as 'UP' | 'DOWN' });
  }
  return changes;
}

/** The servers of every backend, from `show stat` on the stats socket (CSV, one line per proxy or server). */
async function showStat(socket: string): Promise<ServerStatus[]> {
  const text = await statsCommand(socket, 'show stat');
  const [header, ...rows] = text.split('\n').filter((line) => line.trim() !== '');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const column = (name: string) => columns.indexOf(name);
  const [backend, server, status] = [column('pxname'), column('svname'), column('status')];
  return rows
    .map((row) => row.split(','))
    .filter((fields) => fields[server] !== 'FRONTEND' && fields[server] !== 'BACKEND')
    .map((fields) => ({ backend: fields[backend]!, server: fields[server]!, status: fields[status]! }));
}

/** One command on HAProxy's stats socket (it answers and closes the connection). */
function statsCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = net.createConnection(socket);
    let answer = '';
    connection.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    connection.once('end', () => resolve(answer));
    connection.once('error', reject);
    connection.write(`${command}\n`);
  });
}
