import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { Database } from '../db/Database.ts';
import { WebhookEvent, type WebhookEventType } from '../db/WebhookEvent.ts';
import { webhookDeliveries } from '../metrics/counters.ts';
import { webhookData, webhookDataOf, type WebhookFields, type WebhookSubject } from './webhookPayloads.ts';

/**
 * Waits between attempts: quick at first (a receiver that blipped), then spread over more than
 * 24 hours (a receiver down for a day still gets every event). 12 attempts in about 35 hours.
 */
const WEBHOOK_RETRY_SCHEDULE_MS = [1, 5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 12 * 3600].map((s) => s * 1000);

export interface WebhookOutboxOptions {
  database: Database;
  /** WEBHOOK_URL; undefined: webhooks are off and nothing is recorded. */
  url: string | undefined;
  /** WEBHOOK_SECRET, `whsec_<base64>`. */
  secret: string | undefined;
  logger: Logger;
  retryScheduleMs?: readonly number[];
  pollIntervalMs?: number;
  /** One attempt may take this long before it counts as failed. */
  attemptTimeoutMs?: number;
}

/**
 * Webhooks (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`) delivered
 * from a durable outbox. `record()` adds the event to the caller's unit of work, so the event and
 * the change it reports commit together; a loop delivers what is due — including what an earlier
 * process left — and retries with backoff. Every attempt of one event carries the same id.
 */
export class WebhookOutbox {
  readonly #options: WebhookOutboxOptions;
  readonly #webhook: Webhook | undefined;
  readonly #schedule: readonly number[];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly #abort = new AbortController();

  constructor(options: WebhookOutboxOptions) {
    this.#options = options;
    this.#schedule = options.retryScheduleMs ?? WEBHOOK_RETRY_SCHEDULE_MS;
    if (options.url && options.secret) this.#webhook = new Webhook(options.secret);
  }

  get enabled(): boolean {
    return this.#webhook !== undefined;
  }

  /**
   * Adds an event about `interview` to `em`'s unit of work: it is stored by the caller's next
   * flush, with its change. Its data is built through the event type's schema (webhookPayloads.ts):
   * the interview's id, externalId and metadata, then `fields`.
   */
  record<T extends WebhookEventType>(em: EntityManager, type: T, interview: WebhookSubject, fields: WebhookFields<T>): void {
    if (!this.enabled) return;
    const data = webhookDataOf(interview, fields);
    const checked = webhookData[type].safeParse(data);
    // The types make this unreachable; were it reached, the event still goes (the change it reports is stored).
    if (!checked.success) this.#options.logger.error({ type, interviewId: interview.id, issues: checked.error.issues }, 'a webhook payload does not match its schema; sent as built');
    em.persist(new WebhookEvent(type, interview.id, checked.success ? (checked.data as Record<string, unknown>) : data));
  }

  /** Starts delivering (call once the service is up); pending events of earlier runs go first. */
  start(): void {
    if (!this.enabled || this.#closed || this.#timer) return;
    this.#timer = setInterval(() => this.poke(), this.#options.pollIntervalMs ?? 1000);
    this.#timer.unref();
    this.poke();
  }

  /** Delivers what is due now (after a commit that recorded an event, or on the timer). */
  poke(): void {
    if (!this.enabled || this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#deliverDue()
      .catch((error: unknown) => this.#options.logger.error({ err: error }, 'webhook delivery loop failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
  }

  async #deliverDue(): Promise<void> {
    for (;;) {
      const em = this.#options.database.em();
      const due = await em.find(
        WebhookEvent,
        { deliveredAt: null, gaveUpAt: null, nextAttemptAt: { $lte: new Date() } },
        { orderBy: { createdAt: 'asc', id: 'asc' }, limit: 20 },
      );
      if (due.length === 0 || this.#closed) return;
      for (const event of due) {
        if (this.#closed) return;
        await this.#attempt(event);
        await em.flush();
      }
    }
  }

  async #attempt(event: WebhookEvent): Promise<void> {
    const body = JSON.stringify(event.payload);
    const sentAt = new Date();
    event.attempts++;
    let error: string | undefined;
    try {
      const response = await fetch(this.#options.url!, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'interview-ingest-webhooks',
          'webhook-id': event.id,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': this.#webhook!.sign(event.id, sentAt, body),
        },
        body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#options.attemptTimeoutMs ?? 10_000)]),
      });
      await response.body?.cancel();
      if (response.status < 200 || response.status > 299) error = `the receiver answered ${response.status}`;
    } catch (failure) {
      error = failure instanceof Error ? `${failure.name}: ${(failure.cause as Error | undefined)?.message ?? failure.message}` : String(failure);
    }
    const log = this.#options.logger.child({ webhookId: event.id, type: event.type, interviewId: event.interviewId, attempt: event.attempts });
    if (error === undefined) {
      event.deliveredAt = new Date();
      event.lastError = null;
      webhookDeliveries.inc({ outcome: 'delivered' });
      log.info('webhook delivered');
      return;
    }
    event.lastError = error;
    const wait = this.#schedule[event.attempts - 1];
    if (wait === undefined) {
      event.gaveUpAt = new Date();
      webhookDeliveries.inc({ outcome: 'gave_up' });
      log.error({ error }, `webhook not delivered after ${event.attempts} attempts; giving up`);
      return;
    }
    event.nextAttemptAt = new Date(Date.now() + wait);
    webhookDeliveries.inc({ outcome: 'retry' });
    log.warn({ error, retryInMs: wait }, 'webhook delivery failed; will retry');
  }

  /** The outbox rows of one interview, oldest first (the admin API shows their delivery state). */
  async eventsOf(interviewId: string): Promise<WebhookEvent[]> {
    return this.#options.database.em().find(WebhookEvent, { interviewId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** Stops delivering; an attempt in flight is abandoned (it is retried by the next start). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#abort.abort();
    await this.#running;
  }
}
