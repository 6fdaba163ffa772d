// Debian's nginx in front of a test service, configured from deploy/nginx.conf exactly as an
// operator would (its placeholders filled in), on a free port with a run-time test CA. Everything
// nginx writes (pid, logs, temp files) stays in its own temp dir; close() stops it by pid and
// removes the dir.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceptsConnections, stopProxy } from './proxyProcess.ts';
import { issueServerCertificate, makeTestCa, type ServerCertificate, type TestCa } from './testCertificates.ts';
import { freePort, tempDir, waitFor } from './testConfig.ts';

const TEMPLATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'nginx.conf');
const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';

export interface NginxOptions {
  /** host:port of the service. */
  upstream: string;
  /** The address nginx connects to the service from (the service's TRUST_PROXY). */
  proxyAddress: string;
  /** The public port; picked free when not given (it must then be known before the service starts). */
  port?: number;
}

export interface TestNginx {
  port: number;
  /** https://127.0.0.1:<port> */
  url: string;
  ca: TestCa;
  certificate: ServerCertificate;
  /** What nginx logged (errors), for failure messages. */
  errorLog: () => string;
  /** nginx's access log so far (combined format: request line and status of each request). */
  accessLog: () => string;
  close: () => Promise<void>;
}

/** deploy/nginx.conf with its ${PLACEHOLDERS} replaced; throws if one is left unfilled. */
function fillNginxTemplate(values: Record<string, string>): string {
  const text = fs.readFileSync(TEMPLATE, 'utf8');
  const body = text.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string, offset: number) => {
    // The comments name the placeholders too: only the directives are filled.
    const lineStart = text.lastIndexOf('\n', offset) + 1;
    if (text.slice(lineStart, offset).trimStart().startsWith('#')) return whole;
    const value = values[name];
    if (value === undefined) throw new Error(`deploy/nginx.conf: no value for \${${name}}`);
    return value;
  });
  return body;
}

/** A free port, for a test that must know nginx's port before it starts the service (PUBLIC_URL). */
export const pickNginxPort = freePort;

export async function startNginx(options: NginxOptions): Promise<TestNginx> {
  const dir = tempDir('interview-ingest-nginx-');
  let child: ChildProcess | undefined;
  try {
    const ca = makeTestCa(dir);
    const certificate = issueServerCertificate(ca);
    const port = options.port ?? (await freePort());
    const site = path.join(dir, 'interview-ingest.conf');
    fs.writeFileSync(
      site,
      fillNginxTemplate({
        SERVER_NAME: 'localhost',
        LISTEN_PORT: `127.0.0.1:${port}`,
        TLS_CERT_FILE: certificate.certFile,
        TLS_KEY_FILE: certificate.keyFile,
        UPSTREAM: options.upstream,
        PROXY_ADDRESS: options.proxyAddress,
      }),
    );
    // The main configuration Debian's /etc/nginx/nginx.conf would be, kept inside the temp dir.
    const main = path.join(dir, 'nginx.conf');
    const temp = (name: string) => `${name}_temp_path ${path.join(dir, 'temp', name)};`;
    fs.mkdirSync(path.join(dir, 'temp'));
    fs.writeFileSync(
      main,
      [
        // Workers as the same user as the master (root in CI), so they can use the temp dir (0700).
        ...(process.getuid?.() === 0 ? ['user root;'] : []),
        'worker_processes 1;',
        `error_log ${path.join(dir, 'error.log')} warn;`,
        'events { worker_connections 512; }',
        'http {',
        `  access_log ${path.join(dir, 'access.log')};`,
        `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
        `  include ${site};`,
        '}',
        '',
      ].join('\n'),
    );
    const pidFile = path.join(dir, 'nginx.pid');
    const spawned = spawn(NGINX, ['-p', dir, '-c', main, '-e', path.join(dir, 'error.log'), '-g', `daemon off; pid ${pidFile};`], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = spawned;
    let stderr = '';
    spawned.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const errorLog = () => `${stderr}${fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : ''}`;
    // An nginx that exits at start (a taken port, a bad directive) fails the start at once, with its log.
    const exited = new Promise<never>((_resolve, reject) => spawned.once('exit', (code) => reject(new Error(`nginx exited (${code}): ${errorLog()}`))));
    exited.catch(() => undefined);
    await Promise.race([waitFor(async () => (await acceptsConnections(port)) && fs.existsSync(pidFile), { timeoutMs: 10_000, what: `nginx listening on ${port}` }), exited]);
    return {
      port,
      url: `https://127.0.0.1:${port}`,
      ca,
      certificate,
      errorLog,
      accessLog: () => (fs.existsSync(path.join(dir, 'access.log')) ? fs.readFileSync(path.join(dir, 'access.log'), 'utf8') : ''),
      close: () => stopProxy(spawned, dir),
    };
  } catch (error) {
    if (child) await stopProxy(child, dir);
    else fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
