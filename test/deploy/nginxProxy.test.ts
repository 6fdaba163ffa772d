// deploy/nginx.conf as an operator deploys it: Debian's nginx terminating TLS (a test CA made at
// run time) in front of the service, which trusts it (TRUST_PROXY) and builds its links on the https
// origin (PUBLIC_URL). A Chromium candidate and proctor record an interview through it over https
// and wss, and the per-address cap counts the client nginx forwarded, not nginx, and not a header
// someone else wrote.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNALING_NAMESPACE } from '../../shared/protocol.ts';
import { buildClient, launchBrowser, pageErrors, pressStart, type TestBrowser } from '../support/browser.ts';
import { probeFile } from '../support/ffprobe.ts';
import { pickNginxPort, startNginx, type TestNginx } from '../support/nginx.ts';
import { waitForStatus } from '../support/recordedInterview.ts';
import { tempDir } from '../support/testConfig.ts';
import { asAdmin, startTestService, type TestService } from '../support/testService.ts';

/** The address nginx connects to the service from (proxy_bind): the one address the service trusts. */
const PROXY_ADDRESS = '127.0.0.2';
/** Two: the candidate's and the proctor's connection, both from this machine's 127.0.0.1. */
const MAX_PER_IP = 2;

/** An engine.io polling handshake's status, from `localAddress`, over https through nginx or over http straight to the service. */
function handshakeStatus(url: string, localAddress: string, options: { ca?: string; forwardedFor?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL('/socket.io/?EIO=4&transport=polling', url);
    const headers = options.forwardedFor === undefined ? {} : { 'x-forwarded-for': options.forwardedFor };
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(target, { localAddress, agent: false, headers, ...(options.ca ? { ca: options.ca } : {}) }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

/** GETs `url` over https, trusting `ca`; the body. */
function httpsGet(url: string, ca: string, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('behind nginx (deploy/nginx.conf) with TLS', () => {
  let ts: TestService;
  let nginx: TestNginx;
  let browser: TestBrowser;
  const downloads = tempDir('interview-ingest-nginx-downloads-');

  beforeAll(async () => {
    buildClient();
    // nginx cannot listen on port 0 and tell us its port, and PUBLIC_URL must name it before the
    // service starts: a port taken in between (nginx exits: "Address already in use") is picked again.
    for (let attempt = 1; ; attempt++) {
      const port = await pickNginxPort();
      ts = await startTestService({ PUBLIC_URL: `https://127.0.0.1:${port}`, TRUST_PROXY: PROXY_ADDRESS, MAX_CONNECTIONS_PER_IP: String(MAX_PER_IP) });
      try {
        nginx = await startNginx({ upstream: new URL(ts.url).host, proxyAddress: PROXY_ADDRESS, port });
        break;
      } catch (error) {
        await ts.close();
        if (attempt === 3 || !/Address already in use/.test((error as Error).message)) throw error;
      }
    }
    // Chromium trusts the test certificate by its public key, as it would a real one.
    browser = await launchBrowser({ args: [`--ignore-certificate-errors-spki-list=${nginx.certificate.spkiSha256}`] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await nginx?.close();
    await ts?.close();
    fs.rmSync(downloads, { recursive: true, force: true });
  });

  it('records a Chromium candidate and proctor over https and wss; the cap counts the client nginx forwarded and ignores forged headers', async () => {
    // Long enough that it cannot end by itself while the checks below run; ended through the API.
    const interview = await ts.createInterview({ durationSeconds: 600 });
    expect(interview.candidateUrl.startsWith(`${nginx.url}/interview/`)).toBe(true);
    const candidate = await browser.newPage();
    const errors = pageErrors(candidate);
    await pressStart(candidate, interview.candidateUrl);
    await waitForStatus(ts, interview.id, 'live', 20_000).catch((error: Error) => {
      throw new Error(`${error.message}; page errors: ${errors.join(' | ')}; nginx: ${nginx.errorLog()}`);
    });
    expect(await candidate.evaluate(() => ({ protocol: location.protocol, secure: window.isSecureContext }))).toEqual({ protocol: 'https:', secure: true });
    const proctor: Page = await browser.newPage();
    await proctor.goto(interview.proctorUrl);
    await expect.poll(() => proctor.locator('#screen').evaluate((video: HTMLVideoElement) => video.currentTime), { timeout: 20_000 }).toBeGreaterThan(5);

    // The pages' only connections: WebSockets through nginx, which said who the client is and that it came over https.
    const connections = [...ts.service.io.of(SIGNALING_NAMESPACE).sockets.values()].map((socket) => ({
      transport: socket.conn.transport.name,
      peer: socket.conn.request.socket.remoteAddress,
      forwardedFor: socket.handshake.headers['x-forwarded-for'],
      forwardedProto: socket.handshake.headers['x-forwarded-proto'],
    }));
    expect(ts.service.io.engine.clientsCount).toBe(MAX_PER_IP);
    expect(connections).toEqual(Array.from({ length: MAX_PER_IP }, () => ({ transport: 'websocket', peer: PROXY_ADDRESS, forwardedFor: '127.0.0.1', forwardedProto: 'https' })));

    // The two pages are one client, 127.0.0.1, behind the proxy: its share is taken...
    expect(await handshakeStatus(nginx.url, '127.0.0.1', { ca: nginx.ca.pem })).toBe(403);
    // ...even when it claims to be someone else (nginx appends the address it saw; the service reads from the right).
    expect(await handshakeStatus(nginx.url, '127.0.0.1', { ca: nginx.ca.pem, forwardedFor: '198.51.100.7' })).toBe(403);
    // Another client through the same proxy is counted on its own: nginx's address is not what is capped.
    expect(await handshakeStatus(nginx.url, '127.0.0.3', { ca: nginx.ca.pem })).toBe(200);
    // Straight to the service, a peer that is not the proxy gets no say with X-Forwarded-For.
    expect(await handshakeStatus(ts.url, '127.0.0.1', { forwardedFor: '198.51.100.8' })).toBe(403);
    let forged = 0;
    const statuses = [];
    for (let i = 0; i <= MAX_PER_IP; i++) statuses.push(await handshakeStatus(ts.url, '127.0.0.4', { forwardedFor: `203.0.113.${++forged}` }));
    expect(statuses).toEqual([200, 200, 403]);

    expect((await ts.api('POST', `/api/interviews/${interview.id}/end`)).status).toBe(200);
    const done = await waitForStatus(ts, interview.id, 'completed', 60_000);
    // Both files, fetched as stored (their URLs are on the https origin) through nginx.
    for (const url of [done.screenVideo, done.candidateVideo]) {
      expect(url.startsWith(`${nginx.url}/media/`)).toBe(true);
      const { status, body } = await httpsGet(url, nginx.ca.pem, asAdmin());
      expect(status).toBe(200);
      const file = path.join(downloads, path.basename(new URL(url).pathname));
      fs.writeFileSync(file, body);
      const probed = await probeFile(file);
      console.log(`through nginx: ${path.basename(file)} ${probed.durationSeconds?.toFixed(1)} s, ${(body.length / 1024).toFixed(0)} KiB, ${probed.video?.codecName} + ${probed.audio?.codecName}`);
      expect(probed.video?.codecName).toBe('vp9');
      expect(probed.audio?.codecName).toBe('opus');
      expect(probed.durationSeconds).toBeGreaterThan(3);
    }
    expect(nginx.errorLog()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
  });
});
