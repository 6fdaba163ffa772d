// A hiring platform's webhook endpoint on loopback: verifies every request with the
// standardwebhooks package (what receivers use) and records it; how it answers is up to the test.
import http from 'node:http';
import { expect } from 'vitest';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  /** The verified, parsed body; undefined when the signature did not verify. */
  body: { type: string; timestamp: string; data: Record<string, unknown> } | undefined;
  verificationError: string | undefined;
  receivedAt: number;
}

export type Answer = (webhook: ReceivedWebhook) => number | 'hang';

/** A fresh secret in the Standard Webhooks format. */
export function webhookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: Answer = () => 204;
  readonly #server: http.Server;
  readonly #webhook: Webhook;
  readonly #hanging: http.ServerResponse[] = [];

  private constructor(server: http.Server, secret: string) {
    this.#server = server;
    this.#webhook = new Webhook(secret);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const payload = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
        let body: ReceivedWebhook['body'];
        let verificationError: string | undefined;
        try {
          body = this.#webhook.verify(payload, headers) as ReceivedWebhook['body'];
        } catch (error) {
          verificationError = (error as Error).message;
        }
        const webhook: ReceivedWebhook = { id: headers['webhook-id']!, timestamp: Number(headers['webhook-timestamp']), body, verificationError, receivedAt: Date.now() };
        this.received.push(webhook);
        const status = this.answer(webhook);
        if (status === 'hang') this.#hanging.push(response);
        else response.writeHead(status).end();
      });
    });
  }

  static async start(secret: string): Promise<WebhookReceiver> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new WebhookReceiver(server, secret);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks`;
  }

  /** Verified deliveries of one event type. */
  ofType(type: string): ReceivedWebhook[] {
    return this.received.filter((webhook) => webhook.body?.type === type);
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/**
 * The data an `interview.completed` webhook carries for an interview as the API answered it (one
 * created without externalId or metadata): its ids, when it ended and both stored URLs.
 */
export function completedWebhookData(done: { id: string; completedAt: string | null; screenVideo: string; candidateVideo: string; timelineVtt: string }): Record<string, unknown> {
  return {
    interviewId: done.id,
    externalId: null,
    metadata: null,
    completedAt: done.completedAt,
    screenVideo: done.screenVideo,
    candidateVideo: done.candidateVideo,
    timelineVtt: done.timelineVtt,
    // The timeline's counts by kind: their own tests check them (test/server/timeline).
    timeline: expect.any(Object),
  };
}
