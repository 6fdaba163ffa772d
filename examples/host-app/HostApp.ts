// An interview web app in the shape the SDK is made for, small enough to read in one sitting: its
// backend creates each interview through interview-ingest's admin API (with its own id as
// externalId and its end page as returnUrl), its own candidate page asks for the permissions and
// holds the streams, and its webhook endpoint verifies interview-ingest's signature and stores the
// two recording URLs on its own record, which its end page shows. It runs on its own origin.
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';

export interface HostAppOptions {
  /** interview-ingest's URL (its PUBLIC_URL). */
  ingestUrl: string;
  /** interview-ingest's ADMIN_TOKEN (kept on this backend, never sent to a page). */
  adminToken: string;
  /** interview-ingest's WEBHOOK_SECRET, to verify the webhooks. */
  webhookSecret: string;
  port?: number;
  /** How the pages reach this app (default http://localhost:<port>: another origin than 127.0.0.1). */
  host?: string;
}

/** The host's own record of an interview. */
interface HostInterview {
  id: string;
  candidateName: string;
  durationSeconds: number;
  /** interview-ingest's id and candidate link. */
  ingestId: string;
  candidateUrl: string;
  status: string;
  screenVideo: string | null;
  candidateVideo: string | null;
}

export interface HostApp {
  url: string;
  /** The host's records, by its own id (the example keeps them in memory). */
  interviews: Map<string, HostInterview>;
  /** Webhooks that failed verification (a test checks none did). */
  rejectedWebhooks: number;
  createInterview: (input: { id: string; candidateName: string; durationSeconds: number }) => Promise<HostInterview>;
  close: () => Promise<void>;
}

const publicDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');
const ID = /^[a-z0-9-]{1,64}$/;

export async function startHostApp(options: HostAppOptions): Promise<HostApp> {
  const webhook = new Webhook(options.webhookSecret);
  const interviews = new Map<string, HostInterview>();
  let url = '';

  async function ingest<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${options.ingestUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${options.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** Idempotent: asking twice for one host interview (a retried request) gives one ingest interview. */
  async function createInterview(input: { id: string; candidateName: string; durationSeconds: number }): Promise<HostInterview> {
    const created = await ingest<{ id: string; candidateUrl: string; message?: string }>('POST', '/api/interviews', {
      externalId: input.id,
      durationSeconds: input.durationSeconds,
      candidateName: input.candidateName,
      returnUrl: `${url}/interview/end/${input.id}/`,
      metadata: { hostInterviewId: input.id },
    });
    if (created.status !== 200 && created.status !== 201) throw new Error(`interview-ingest refused the interview: ${created.status} ${created.body.message ?? ''}`);
    const record: HostInterview = { ...input, ingestId: created.body.id, candidateUrl: created.body.candidateUrl, status: 'created', screenVideo: null, candidateVideo: null };
    interviews.set(input.id, record);
    return record;
  }

  async function onWebhook(request: http.IncomingMessage, body: string, response: http.ServerResponse): Promise<void> {
    let event: { type: string; data: { externalId?: string | null; screenVideo?: string; candidateVideo?: string } };
    try {
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      event = webhook.verify(body, headers) as typeof event;
    } catch {
      app.rejectedWebhooks++;
      response.writeHead(401).end();
      return;
    }
    const record = event.data.externalId ? interviews.get(event.data.externalId) : undefined;
    if (record) {
      record.status = event.type.replace('interview.', '');
      // The URLs come from interview-ingest's signed webhook, never from the candidate's page.
      if (event.type === 'interview.completed') {
        record.screenVideo = event.data.screenVideo ?? null;
        record.candidateVideo = event.data.candidateVideo ?? null;
      }
    }
    response.writeHead(204).end();
  }

  async function sendPage(response: http.ServerResponse, file: string, values: Record<string, string>): Promise<void> {
    let html = await fs.readFile(path.join(publicDir, file), 'utf8');
    for (const [name, value] of Object.entries(values)) html = html.replaceAll(`{{${name}}}`, escapeHtml(value));
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void route(request, Buffer.concat(chunks).toString('utf8'), response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
  });

  async function route(request: http.IncomingMessage, body: string, response: http.ServerResponse): Promise<void> {
    const { pathname } = new URL(request.url ?? '/', url);
    const parts = pathname.split('/').filter(Boolean);
    if (request.method === 'POST' && pathname === '/webhooks/interview-ingest') return onWebhook(request, body, response);
    if (request.method === 'POST' && pathname === '/api/interviews') {
      const input = JSON.parse(body) as { id: string; candidateName: string; durationSeconds: number };
      if (!ID.test(input.id)) return void response.writeHead(400).end('bad id');
      const record = await createInterview(input);
      return void response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: record.id, page: `${url}/interview/${record.id}/` }));
    }
    if (request.method === 'GET' && parts[0] === 'static' && parts.length === 2 && /^[\w-]+\.js$/.test(parts[1]!)) {
      const script = await fs.readFile(path.join(publicDir, parts[1]!));
      return void response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    }
    // The host's pages: /interview/<id>/ (SDK), /interview/<id>/legacy/ (the old recorder's names),
    // /interview/<id>/iframe/ (interview-ingest's own candidate page, framed), /interview/end/<id>/.
    if (request.method === 'GET' && parts[0] === 'interview') {
      const ended = parts[1] === 'end';
      const record = interviews.get(ended ? (parts[2] ?? '') : (parts[1] ?? ''));
      if (!record) return void response.writeHead(404).end('no such interview');
      if (ended) {
        return sendPage(response, 'end.html', {
          id: record.id,
          name: record.candidateName,
          status: record.status,
          screenVideo: record.screenVideo ?? '',
          candidateVideo: record.candidateVideo ?? '',
        });
      }
      const values = { id: record.id, name: record.candidateName, ingestUrl: options.ingestUrl, candidateUrl: record.candidateUrl, durationSeconds: String(record.durationSeconds) };
      const page = parts[2] === 'legacy' ? 'interview-legacy.html' : parts[2] === 'iframe' ? 'interview-iframe.html' : 'interview.html';
      return sendPage(response, page, values);
    }
    if (request.method === 'GET' && /^\/interviews\/[a-z0-9-]+\.json$/.test(pathname)) {
      const record = interviews.get(pathname.slice('/interviews/'.length, -'.json'.length));
      if (!record) return void response.writeHead(404).end();
      return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(record));
    }
    response.writeHead(404).end('not found');
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  url = `http://${options.host ?? 'localhost'}:${(server.address() as AddressInfo).port}`;
  const app: HostApp = {
    url,
    interviews,
    rejectedWebhooks: 0,
    createInterview,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return app;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
