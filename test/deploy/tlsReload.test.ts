// The service's own https (TLS_CERT_FILE / TLS_KEY_FILE), as `npm start` runs it: SIGHUP swaps in
// a renewed certificate for new connections while a live signalling connection stays up; files
// that cannot be used keep the certificate in use.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNALING_NAMESPACE } from '../../shared/protocol.ts';
import { request } from '../signaling/signalingClient.ts';
import { ADMIN_TOKEN, ServiceProcess, serviceEnv } from '../support/serviceProcess.ts';
import { issueServerCertificate, makeTestCa, type ServerCertificate, type TestCa } from '../support/testCertificates.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

/** The serial number of the certificate a new TLS connection to `port` is given (verified against `ca`). */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().serialNumber.toUpperCase());
      socket.end();
    });
    socket.on('error', reject);
  });
}

function createInterview(url: string, ca: string): Promise<{ id: string; proctorUrl: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ durationSeconds: 600 });
    const call = https.request(`${url}/api/interviews`, { method: 'POST', ca, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => (response.statusCode === 201 ? resolve(JSON.parse(text)) : reject(new Error(`${response.statusCode} ${text}`))));
    });
    call.on('error', reject);
    call.end(body);
  });
}

describe('TLS without a proxy: TLS_CERT_FILE / TLS_KEY_FILE, reloaded on SIGHUP', () => {
  const dir = tempDir('interview-ingest-tls-');
  const certFile = path.join(dir, 'live.pem');
  const keyFile = path.join(dir, 'live.key');
  let ca: TestCa;
  let first: ServerCertificate;
  let second: ServerCertificate;
  let service: ServiceProcess;
  let port: number;
  let socket: Socket | undefined;

  const install = (certificate: ServerCertificate, key = certificate.keyFile) => {
    fs.copyFileSync(certificate.certFile, certFile);
    fs.copyFileSync(key, keyFile);
  };

  beforeAll(async () => {
    ca = makeTestCa(dir);
    first = issueServerCertificate(ca, 'first');
    second = issueServerCertificate(ca, 'second');
    install(first);
    const env = await serviceEnv({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
    // PORT 0 with TLS files: the service's own URL is https://127.0.0.1:<the port it got>.
    service = await ServiceProcess.start(env);
    expect(env.PUBLIC_URL).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    port = Number(env.PORT);
  });

  afterAll(async () => {
    socket?.close();
    await service?.terminate();
    fs.rmSync(service?.env.DATA_DIR ?? '', { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves https and wss; after SIGHUP new connections get the new certificate and a live socket stays connected', async () => {
    expect(await servedSerial(port, ca.pem)).toBe(first.serial.toUpperCase());
    const interview = await createInterview(service.url, ca.pem);
    expect(interview.proctorUrl.startsWith(`https://127.0.0.1:${port}/proctor/`)).toBe(true);
    const token = new URLSearchParams(new URL(interview.proctorUrl).hash.slice(1)).get('token');
    socket = io(`${service.url}${SIGNALING_NAMESPACE}`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, ca: ca.pem });
    const live = socket;
    let disconnects = 0;
    live.on('disconnect', () => disconnects++);
    await new Promise<void>((resolve, reject) => {
      live.once('connect', () => resolve());
      live.once('connect_error', reject);
    });
    expect(await request(live, 'join', { interviewId: interview.id })).toMatchObject({ ok: true });

    install(second);
    const started = Date.now();
    process.kill(service.pid, 'SIGHUP');
    await waitFor(() => service.logged('TLS certificate reloaded').length === 1, { what: 'the reload to be logged' });
    expect(await servedSerial(port, ca.pem)).toBe(second.serial.toUpperCase());
    console.log(`SIGHUP → new certificate served in ${Date.now() - started} ms`);
    // The socket opened under the first certificate goes on, and still answers.
    expect(live.connected).toBe(true);
    expect(await request(live, 'createTransport', { direction: 'recv' })).toMatchObject({ ok: true });
    expect(disconnects).toBe(0);
    expect(service.hasExited).toBe(false);
  });

  it('keeps the certificate in use when the new files do not belong together, and says so', async () => {
    install(first, second.keyFile);
    process.kill(service.pid, 'SIGHUP');
    await waitFor(() => service.logged('TLS certificate not reloaded').length === 1, { what: 'the failed reload to be logged' });
    expect(await servedSerial(port, ca.pem)).toBe(second.serial.toUpperCase());
    expect(socket?.connected).toBe(true);
    expect(service.hasExited).toBe(false);
  });
});

describe('SIGHUP without TLS files', () => {
  it('is logged and ignored: the service goes on', async () => {
    const service = await ServiceProcess.start(await serviceEnv());
    try {
      process.kill(service.pid, 'SIGHUP');
      await waitFor(() => service.logged('SIGHUP ignored').length === 1, { what: 'the ignored SIGHUP to be logged' });
      expect(service.hasExited).toBe(false);
      expect((await service.api('GET', '/api/interviews')).status).toBe(200);
    } finally {
      await service.terminate();
      fs.rmSync(service.env.DATA_DIR, { recursive: true, force: true });
    }
  });
});
