import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

/** The events sent to WEBHOOK_URL (their payloads: server/webhooks/webhookPayloads.ts). */
export const WEBHOOK_EVENT_TYPES = ['interview.live', 'interview.completed', 'interview.failed', 'interview.gap', 'interview.flagged'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Where one event is on its way to the receiver. */
export type WebhookDeliveryState = 'pending' | 'delivered' | 'gave_up';

/**
 * One webhook event in the outbox. Written in the same transaction as the change it reports, so
 * a crash can lose neither; its id is the `webhook-id` of every attempt (receivers dedupe on it).
 */
export class WebhookEvent {
  id: string = `msg_${randomUUID()}`;
  type: WebhookEventType;
  interviewId: string;
  /** The body sent: `{type, timestamp, data}` (Standard Webhooks' recommended shape). */
  payload: { type: WebhookEventType; timestamp: string; data: Record<string, unknown> };
  createdAt: Date = new Date();
  attempts = 0;
  nextAttemptAt: Date = new Date();
  deliveredAt: Date | null = null;
  gaveUpAt: Date | null = null;
  lastError: string | null = null;

  constructor(type: WebhookEventType, interviewId: string, data: Record<string, unknown>) {
    this.type = type;
    this.interviewId = interviewId;
    this.payload = { type, timestamp: this.createdAt.toISOString(), data: { interviewId, ...data } };
  }
}

export function deliveryStateOf(event: WebhookEvent): WebhookDeliveryState {
  return event.deliveredAt ? 'delivered' : event.gaveUpAt ? 'gave_up' : 'pending';
}

export const WebhookEventSchema = new EntitySchema<WebhookEvent>({
  class: WebhookEvent,
  tableName: 'webhook_events',
  properties: {
    id: { type: 'string', primary: true },
    type: { type: 'string' },
    interviewId: { type: 'string', index: true },
    payload: { type: 'json' },
    createdAt: { type: 'datetime' },
    attempts: { type: 'integer', default: 0 },
    nextAttemptAt: { type: 'datetime' },
    deliveredAt: { type: 'datetime', nullable: true },
    gaveUpAt: { type: 'datetime', nullable: true },
    lastError: { type: 'text', nullable: true },
  },
});
