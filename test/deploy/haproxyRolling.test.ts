// deploy/haproxy.cfg as an operator deploys it: Debian's HAProxy terminating TLS (a test CA made at
// run time) in front of a cluster — two nodes running (node1, node2) and node3's address down —
// on one PostgreSQL, one Redis and one external object store. Each node's PUBLIC_URL is its own
// host name on HAProxy's port; the admin API goes to the shared name. A Chromium candidate and
// proctor record an interview through HAProxy over https and wss while both nodes are restarted in
// turn (SIGTERM, then started again once the other has the interview); on each SIGTERM the node
// drains (/healthz 503 for DRAIN_SECONDS) and HAProxy takes it out of the pool before its listener
// closes. The interview completes with every stretch recorded but for the handovers' outages.
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../server/cluster/clusterKeys.ts';
import type { RedisClient } from '../../server/cluster/redisClient.ts';
import { buildClient, launchBrowser, pageErrors, pressStart, type TestBrowser } from '../support/browser.ts';
import { startClusterBackends, type ClusterBackends } from '../support/clusterBackends.ts';
import { expectRecordedStretches, logServiceOnFailure, waitForMediaFlowing, type InterviewState } from '../support/faults.ts';
import { pickHaproxyPort, startHaproxy, type TestHaproxy } from '../support/haproxy.ts';
import { ADMIN_TOKEN, ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { freePort, tempDir, waitFor } from '../support/testConfig.ts';

/** Recording time between the restarts (the sleeps are this recording time). */
const RECORD_MS = 3000;
/** With HAProxy's check every 1 s, down after 2 failures: out of the pool at most ~2 s after SIGTERM. */
const DRAIN_SECONDS = 3;
/** The address HAProxy connects to the nodes from: the one address they trust (TRUST_PROXY). */
const PROXY_ADDRESS = '127.0.0.2';
/** Per client address, per node; the pages (127.0.0.1) use two at most. */
const MAX_PER_IP = 3;
const SHARED_HOST = 'ingest.localhost';
const NODE_HOSTS = ['node1.localhost', 'node2.localhost', 'node3.localhost'] as const;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

describe('behind HAProxy (deploy/haproxy.cfg): a rolling restart of both nodes during one interview', () => {
  let backends: ClusterBackends | undefined;
  let admin: RedisClient;
  let haproxy: TestHaproxy;
  let port: number;
  const envs: ServiceEnv[] = [];
  /** The running process of node1 and of node2 (replaced when one restarts). */
  const services: ServiceProcess[] = [];
  let browser: TestBrowser | undefined;
  const downloads = tempDir('haproxy-downloads-');
  logServiceOnFailure(() => services.find((service) => !service.hasExited));
  afterEach(({ task }) => {
    if (task.result?.state === 'fail' && haproxy) console.log(`haproxy's log:\n${haproxy.log().split('\n').slice(-60).join('\n')}`);
  });

  /** A request through HAProxy: every *.localhost name is this machine, the test CA is trusted. */
  function request(method: string, url: string, options: { body?: unknown; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const body = options.body === undefined ? undefined : JSON.stringify(options.body);
      const outgoing = https.request(
        url,
        {
          method,
          ca: haproxy.ca.pem,
          agent: false,
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
          lookup: (_host, lookupOptions, callback) =>
            (lookupOptions as { all?: boolean }).all ? (callback as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4),
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  /** The admin API through HAProxy's shared name (any node answers). */
  async function api<T>(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: T }> {
    const answer = await request(method, `${haproxy.url(SHARED_HOST)}${urlPath}`, { body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = answer.body.toString('utf8');
    return { status: answer.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async function interviewState(id: string, wanted: (state: InterviewState) => boolean, what: string, timeoutMs = 30_000): Promise<InterviewState> {
    return waitFor(
      async () => {
        const { status, body } = await api<InterviewState>('GET', `/api/interviews/${id}`);
        return status === 200 && wanted(body) ? body : null;
      },
      { timeoutMs, intervalMs: 200, what },
    );
  }

  /** Whether HAProxy's `backend/server` has the status `wanted` now. */
  const hasStatus = async (backend: string, server: string, wanted: string) => (await haproxy.status(backend, server)) === wanted;

  beforeAll(async () => {
    buildClient();
    backends = await startClusterBackends('haproxy_rolling');
    admin = backends.admin;
    const shared = {
      ...backends.env,
      RECORDING_JOURNAL_SECONDS: '2',
      TRUST_PROXY: PROXY_ADDRESS,
      MAX_CONNECTIONS_PER_IP: String(MAX_PER_IP),
      DRAIN_SECONDS: String(DRAIN_SECONDS),
    };
    // HAProxy cannot listen on port 0 and tell us its port, and each node's PUBLIC_URL must name it
    // before the node starts: a port taken in between (HAProxy exits: cannot bind) is picked again.
    for (let attempt = 1; ; attempt++) {
      port = await pickHaproxyPort();
      if (envs.length === 0) {
        // Not port 0: HAProxy's file names each node's port before the node starts.
        // INTERNAL_URL: a node forwards an admin request to the owner over the private network, as
        // operators set it up behind a balancer (not back through HAProxy by the owner's public name).
        for (const nodeId of ['node1', 'node2']) {
          const nodePort = String(await freePort());
          envs.push(await serviceEnv({ ...shared, NODE_ID: nodeId, PORT: nodePort, INTERNAL_URL: `http://127.0.0.1:${nodePort}` }));
        }
      }
      envs.forEach((env, index) => (env.PUBLIC_URL = `https://${NODE_HOSTS[index]}:${port}`));
      // node3 is in the file but not running: its address is a port nobody listens on.
      const [node1, node2] = envs.map((env, index) => ({ host: NODE_HOSTS[index]!, address: `127.0.0.1:${env.PORT}` }));
      const node3 = { host: NODE_HOSTS[2], address: `127.0.0.1:${await freePort()}` };
      try {
        haproxy = await startHaproxy({ nodes: [node1!, node2!, node3], sharedHost: SHARED_HOST, proxyAddress: PROXY_ADDRESS, port });
        break;
      } catch (error) {
        if (attempt === 3 || !/cannot bind|Address already in use/i.test((error as Error).message)) throw error;
      }
    }
    services.push(...(await Promise.all(envs.map((env) => ServiceProcess.start(env)))));
    // Chromium trusts the test certificate by its public key, as it would a real one, and finds every *.localhost here.
    browser = await launchBrowser({ args: [`--ignore-certificate-errors-spki-list=${haproxy.certificate.spkiSha256}`, '--host-resolver-rules=MAP *.localhost 127.0.0.1'] });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await haproxy?.close();
    for (const service of services) await service.kill();
    await backends?.close();
    for (const dir of [...envs.map((env) => env.DATA_DIR), downloads]) fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Watches a node's listener from outside: a TCP connect every 20 ms. `lastOpenAt` is when the
   * last connect that succeeded was started (the listener was open at some moment after it);
   * `closed` resolves when a connect is refused.
   */
  function watchListener(listenPort: number): { lastOpenAt: () => number; closed: Promise<number>; stop: () => void } {
    let lastOpenAt = 0;
    let stopped = false;
    const closed = new Promise<number>((resolve) => {
      const probe = () => {
        if (stopped) return;
        const startedAt = Date.now();
        const socket = net.connect(listenPort, '127.0.0.1');
        socket.once('connect', () => {
          lastOpenAt = startedAt;
          socket.destroy();
          setTimeout(probe, 20);
        });
        socket.once('error', () => {
          socket.destroy();
          resolve(Date.now());
        });
      };
      probe();
    });
    return { lastOpenAt: () => lastOpenAt, closed, stop: () => (stopped = true) };
  }

  /**
   * SIGTERM to node `leaving` (0: node1, 1: node2), as a deploy sends: HAProxy takes it out of the
   * pool while it drains, before its listener closes; the other node holds the lease and records
   * the page's media before the leaving one has exited. While it is down, a link naming it is
   * served by the other node; then it starts again and HAProxy puts it back.
   */
  async function restart(leaving: 0 | 1, interviewId: string, candidateUrl: string): Promise<{ stoppedAt: number; resumedAt: number }> {
    const gone = services[leaving]!;
    const taker = services[1 - leaving]!;
    const name = `node${leaving + 1}`;
    const takerId = envs[1 - leaving]!.NODE_ID!;
    const listener = watchListener(Number(gone.env.PORT));
    const signalledAt = Date.now();
    const exited = gone.terminate();
    await waitFor(async () => ((await admin.get(clusterKeys.lease(interviewId))) ?? '').startsWith(`${takerId}/`), { timeoutMs: 15_000, intervalMs: 20, what: `${takerId} to take the lease` });
    const leaseMs = Date.now() - signalledAt;
    const resumed = await waitForMediaFlowing(taker, signalledAt, 30_000);
    const exit = await exited;
    // The leaving node recorded through its drain: its recording stopped when it began shutting down.
    const stoppedAt = gone.logs.find((line) => line.msg === 'shutting down' && line.time >= signalledAt)?.time;
    expect(stoppedAt, `${name} never logged 'shutting down'`).toBeDefined();
    const closedAt = await listener.closed;
    listener.stop();
    const lastOpenAt = listener.lastOpenAt();
    const logged = haproxy.loggedChanges().find((change) => change.backend === 'nodes' && change.server === name && change.state === 'DOWN' && change.at >= signalledAt);
    const polled = haproxy.changes.find((change) => change.backend === 'nodes' && change.server === name && change.status === 'DOWN' && change.at >= signalledAt);
    const ms = (at: number | undefined) => (at === undefined ? 'never' : `${at - signalledAt} ms`);
    console.log(
      `SIGTERM to ${name}: HAProxy logged it DOWN after ${ms(logged?.at)} (stats socket: ${ms(polled?.at)}); its listener was last seen open ${ms(lastOpenAt)} and refused at ${ms(closedAt)}; ` +
        `${name} stopped recording at ${ms(stoppedAt)}, ${takerId} held the lease after ${leaseMs} ms and recorded the page's media after ${resumed.time - signalledAt} ms; ${name} exited (code ${exit.code}) after ${ms(Date.now())}`,
    );
    expect(exit.code).toBe(0);
    expect(gone.logged('handed the interview over')).toHaveLength(1);
    // Out of the pool while the node still listened: no new request was sent to a closing node.
    // (Never seen down counts as too late.)
    const openUntil = lastOpenAt - signalledAt;
    const loggedMs = logged ? logged.at - signalledAt : Number.POSITIVE_INFINITY;
    const polledMs = polled ? polled.at - signalledAt : Number.POSITIVE_INFINITY;
    expect(loggedMs, `ms from SIGTERM to HAProxy logging ${name} DOWN, against the listener open at ${openUntil} ms`).toBeLessThan(openUntil);
    expect(polledMs, `ms from SIGTERM to the stats socket showing ${name} DOWN, against the listener open at ${openUntil} ms`).toBeLessThan(openUntil);

    // node<leaving>'s own name, with the node gone: once HAProxy sees its listener closed, the
    // shared pool answers it, and the live owner serves the interview's page.
    await waitFor(() => hasStatus(name, name, 'DOWN'), { timeoutMs: 10_000, what: `HAProxy to see ${name}'s listener closed` });
    const ownNameDownMs = Date.now() - closedAt;
    const ownPage = await request('GET', candidateUrl.replace(/#.*$/, ''));
    expect(ownPage.status).toBe(200);
    expect(ownPage.body.toString('utf8')).toContain('<html');

    const startedAt = Date.now();
    services[leaving] = await ServiceProcess.start(gone.env);
    const listeningAt = Date.now();
    await waitFor(async () => (await hasStatus('nodes', name, 'UP')) && (await hasStatus(name, name, 'UP')), { timeoutMs: 10_000, intervalMs: 50, what: `HAProxy to put ${name} back` });
    console.log(
      `${name}'s own name went to the pool ${ownNameDownMs} ms after its listener closed; ${name} listened again ${listeningAt - startedAt} ms after its start, back in HAProxy's pool ${Date.now() - listeningAt} ms later`,
    );
    return { stoppedAt: stoppedAt!, resumedAt: resumed.time };
  }

  it('records a Chromium candidate and proctor over https and wss through HAProxy while each node is restarted in turn; HAProxy takes each out before its listener closes', async () => {
    const testStartedAt = Date.now();
    await waitFor(async () => (await admin.sMembers(clusterKeys.nodes)).length === 2, { what: 'both nodes registered' });
    // In the pool and on their own names (until a node's own backend is up, its name goes to the pool).
    const wantedStatuses: Array<[string, string, string]> = ['node1', 'node2', 'node3'].flatMap((node) => {
      const status = node === 'node3' ? 'DOWN' : 'UP';
      return [['nodes', node, status], [node, node, status]] as Array<[string, string, string]>;
    });
    await waitFor(async () => (await Promise.all(wantedStatuses.map(([backend, server, status]) => hasStatus(backend, server, status)))).every(Boolean), {
      what: 'HAProxy to see node1 and node2 up and node3 down',
    });

    // X-Forwarded-For, as HAProxy writes it, is what the nodes count a client by: a client behind
    // HAProxy gets its own share of MAX_CONNECTIONS_PER_IP, and a header it forges does not help it.
    const handshake = (localAddress: string, forwardedFor?: string) =>
      request('GET', `${haproxy.url(NODE_HOSTS[0])}/socket.io/?EIO=4&transport=polling`, { localAddress, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} }).then((answer) => answer.status);
    const statuses = [];
    for (let i = 0; i < MAX_PER_IP; i++) statuses.push(await handshake('127.0.0.3'));
    statuses.push(await handshake('127.0.0.3', '198.51.100.7'));
    statuses.push(await handshake('127.0.0.4'));
    expect(statuses).toEqual([...Array.from({ length: MAX_PER_IP }, () => 200), 403, 200]);

    const created = await api<{ id: string; candidateUrl: string; proctorUrl: string }>('POST', '/api/interviews', { durationSeconds: 300, candidateName: 'Behind HAProxy' });
    expect(created.status).toBe(201);
    const { id, candidateUrl, proctorUrl } = created.body;
    // The link names the node the interview was placed on, by its own host name.
    const owner = NODE_HOSTS.findIndex((host) => candidateUrl.startsWith(`${haproxy.url(host)}/interview/${id}#token=`));
    expect([0, 1]).toContain(owner);
    const candidate: Page = await browser!.newPage();
    const errors = pageErrors(candidate);
    await pressStart(candidate, candidateUrl);
    await interviewState(id, (state) => state.status === 'live', 'the interview to go live', 20_000).catch((error: Error) => {
      throw new Error(`${error.message}; page errors: ${errors.join(' | ')}`);
    });
    expect(await candidate.evaluate(() => ({ protocol: location.protocol, secure: window.isSecureContext }))).toEqual({ protocol: 'https:', secure: true });
    const flowingAt = (await waitForMediaFlowing(services[owner]!, 0)).time;
    // The proctor opens its link on the shared name, round-robin without stickiness: a node that
    // does not own the interview sends the page (307) or its signalling to the owner; either way it plays.
    const proctor: Page = await browser!.newPage();
    await proctor.goto(proctorUrl.replace(haproxy.url(NODE_HOSTS[owner]!), haproxy.url(SHARED_HOST)));
    expect([`${SHARED_HOST}:${port}`, `${NODE_HOSTS[owner]}:${port}`]).toContain(new URL(proctor.url()).host);
    await expect.poll(() => proctor.locator('#screen').evaluate((video: HTMLVideoElement) => video.currentTime), { timeout: 20_000 }).toBeGreaterThan(1);

    await sleep(RECORD_MS);
    const first = await restart(owner as 0 | 1, id, candidateUrl);
    await sleep(RECORD_MS);
    const second = await restart((1 - owner) as 0 | 1, id, candidateUrl);
    await sleep(RECORD_MS);
    const endAt = Date.now();
    // The end is asked of the node that does not record the interview now (by its own name): it
    // forwards the request to the owner, which stops its recording at once. Were the owner not
    // reached, the asking node would end it alone while the owner recorded on.
    const endAsked = await request('POST', `${haproxy.url(NODE_HOSTS[1 - owner]!)}/api/interviews/${id}/end`, { body: {}, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(endAsked.status, endAsked.body.toString('utf8')).toBe(200);
    const answeredEnd = (service: ServiceProcess) => service.logged('request answered').filter((line) => line.method === 'POST' && line.path === `/api/interviews/${id}/end` && line.status === 200).length;
    // Logged once the answer has gone out: polled.
    await expect.poll(() => services.map(answeredEnd), { message: 'POST …/end answered by [node1, node2]', timeout: 5_000 }).toEqual([1, 1]);
    for (const service of services) expect(service.logged("could not reach the interview's owner")).toEqual([]);
    const done = await interviewState(id, (state) => state.status === 'completed' || state.status === 'failed', 'the interview to be delivered', 90_000);
    expect(done.status, done.failureReason ?? '').toBe('completed');
    // The page never reloaded: it followed the interview from node to node and ended.
    expect(candidate.url()).toContain(`/interview/end/${id}`);

    const stretches = [first.stoppedAt - flowingAt, second.stoppedAt - first.resumedAt, endAt - second.resumedAt].map((ms) => ms / 1000);
    const outages = [first.resumedAt - first.stoppedAt, second.resumedAt - second.stoppedAt].map((ms) => ms / 1000);
    expect(done.gaps.map((gap) => gap.cause)).toEqual(['service restarted', 'service restarted']);
    for (const kind of ['screen', 'candidate'] as const) {
      // Fetched by its stored URL (a node's https name) through HAProxy.
      const url = kind === 'screen' ? done.screenVideo : done.candidateVideo;
      expect(url.startsWith('https://')).toBe(true);
      const answer = await request('GET', url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(answer.status).toBe(200);
      const file = path.join(downloads, `${kind}.webm`);
      fs.writeFileSync(file, answer.body);
      // As test/cluster/rollingRestart allows: what is lost is what ffmpeg had not written yet.
      await expectRecordedStretches(file, stretches, outages);
    }
    console.log(`HAProxy rolling restart test: ${((Date.now() - testStartedAt) / 1000).toFixed(1)} s`);
  }, 180_000);
});
