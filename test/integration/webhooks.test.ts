import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../server/db/WebhookEvent.ts';
import { parsePrometheusText } from '../support/prometheusText.ts';
import { publishSynthetic, waitForStatus } from '../support/recordedInterview.ts';
import { ServiceProcess, serviceEnv } from '../support/serviceProcess.ts';
import type { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';
import { WebhookReceiver, webhookSecret, completedWebhookData } from '../support/webhookReceiver.ts';

interface WebhookState {
  id: string;
  type: string;
  state: string;
  attempts: number;
  deliveredAt: string | null;
}

/** interview_ingest_webhook_deliveries_total by outcome (0 before its first sample). */
async function deliveries(t: TestService): Promise<{ retry: number; delivered: number }> {
  const families = parsePrometheusText(await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminToken}` } })).text());
  const samples = families.get('interview_ingest_webhook_deliveries')?.samples ?? families.get('interview_ingest_webhook_deliveries_total')?.samples ?? [];
  const of = (outcome: string) => samples.filter((sample) => sample.labels.outcome === outcome).reduce((sum, sample) => sum + sample.value, 0);
  return { retry: of('retry'), delivered: of('delivered') };
}

describe('webhooks (Standard Webhooks) from a durable outbox', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('sends interview.live, interview.gap and interview.completed with both URLs, signed, and shows them delivered', async () => {
    const secret = webhookSecret();
    const receiver = await WebhookReceiver.start(secret);
    cleanups.push(() => receiver.close());
    const t: TestService = await startTestService({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret });
    cleanups.push(() => t.close());
    const interview = await t.createInterview({ durationSeconds: 12 });
    const publisher: SyntheticPublisher = await publishSynthetic(t, interview.id);
    cleanups.push(() => publisher.close());

    const live = await waitFor(() => receiver.ofType('interview.live')[0], { timeoutMs: 20_000, what: 'interview.live' });
    const { body: view } = await t.api<{ startedAt: string; endsAt: string }>('GET', `/api/interviews/${interview.id}`);
    expect(live.body!.data).toEqual({ interviewId: interview.id, externalId: null, metadata: null, startedAt: view.startedAt, endsAt: view.endsAt });

    // A recorder restart is a gap: killing ffmpeg makes one.
    const recording = (await t.service.sessions.get(interview.id)?.recording)!;
    await waitFor(() => recording.ffmpegPid, { what: 'the recorder running' });
    process.kill(recording.ffmpegPid!, 'SIGKILL');
    const gap = await waitFor(() => receiver.ofType('interview.gap')[0], { timeoutMs: 15_000, what: 'interview.gap' });
    expect(gap.body!.data).toMatchObject({ interviewId: interview.id, gap: { cause: 'recorder restarted', start: expect.any(String), end: expect.any(String) } });

    const done = await waitForStatus(t, interview.id, 'completed', 60_000);
    const completed = await waitFor(() => receiver.ofType('interview.completed')[0], { timeoutMs: 10_000, what: 'interview.completed' });
    expect(completed.body!.data).toEqual(completedWebhookData(done));
    expect(done.screenVideo).toMatch(/screen\.webm$/);

    expect(receiver.received.map((w) => w.verificationError)).toEqual(receiver.received.map(() => undefined));
    const ids = receiver.received.map((w) => w.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const webhook of receiver.received) expect(Math.abs(webhook.timestamp * 1000 - webhook.receivedAt)).toBeLessThan(5000);

    const { body: states } = await t.api<WebhookState[]>('GET', `/api/interviews/${interview.id}/webhooks`);
    expect(states.map((s) => [s.type, s.state, s.attempts])).toEqual([
      ['interview.live', 'delivered', 1],
      ['interview.gap', 'delivered', 1],
      ['interview.completed', 'delivered', 1],
    ]);
    expect(states.map((s) => s.id)).toEqual(ids);
  });

  it('sends interview.failed with the reason, and retries a refusing receiver with the same webhook-id', async () => {
    const secret = webhookSecret();
    const receiver = await WebhookReceiver.start(secret);
    cleanups.push(() => receiver.close());
    let refusals = 2;
    receiver.answer = (webhook) => (webhook.body?.type === 'interview.failed' && refusals-- > 0 ? 503 : 200);
    const t = await startTestService({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret });
    cleanups.push(() => t.close());
    const deliveriesBefore = await deliveries(t);
    const interview = await t.createInterview({ durationSeconds: 60 });
    const segment = path.join(t.dataDir, 'recordings', interview.id, 'segment-000');
    fs.mkdirSync(segment, { recursive: true });
    fs.writeFileSync(path.join(segment, 'screen.webm'), Buffer.alloc(4096, 0x5a));
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    const failed = await waitForStatus(t, interview.id, 'failed', 20_000);

    // Refused twice (1 s, then 5 s later), delivered the third time: three requests, one id.
    // (The leftover segment also counts as a gap of an earlier run: an interview.gap, delivered at once.)
    await waitFor(() => receiver.ofType('interview.failed').length >= 3, { timeoutMs: 15_000, what: 'the third attempt' });
    const attempts = receiver.ofType('interview.failed');
    expect(attempts.map((w) => w.id)).toEqual([attempts[0]!.id, attempts[0]!.id, attempts[0]!.id]);
    expect(attempts[0]!.body!.data).toEqual({ interviewId: interview.id, externalId: null, metadata: null, reason: failed.failureReason, nextRetryAt: failed.nextRetryAt });
    const gaps = attempts.slice(1).map((w, i) => w.receivedAt - attempts[i]!.receivedAt);
    // The schedule's 1 s and 5 s, late by at most the outbox's 1 s poll and a loaded machine's slack.
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[0]).toBeLessThan(3000);
    expect(gaps[1]).toBeGreaterThanOrEqual(4900);
    expect(gaps[1]).toBeLessThan(7500);
    await waitFor(async () => (await t.api<WebhookState[]>('GET', `/api/interviews/${interview.id}/webhooks`)).body.find((s) => s.type === 'interview.failed')?.state === 'delivered', { what: 'delivered state' });
    const { body: states } = await t.api<WebhookState[]>('GET', `/api/interviews/${interview.id}/webhooks`);
    expect(states.find((s) => s.type === 'interview.failed')).toMatchObject({ id: attempts[0]!.id, state: 'delivered', attempts: 3 });

    // Delivered means never sent again, even once its next slot has come: the row is made due, and
    // a later event (the outbox sends the oldest due first) marks when a redelivery would have come.
    await t.service.database.em().nativeUpdate(WebhookEvent, { id: attempts[0]!.id }, { nextAttemptAt: new Date(Date.now() - 3_600_000) });
    const marker = await t.createInterview({ durationSeconds: 60 });
    await t.api('POST', `/api/interviews/${marker.id}/end`, {});
    await waitFor(() => receiver.ofType('interview.completed').find((w) => w.body?.data.interviewId === marker.id), { timeoutMs: 15_000, what: 'the later event' });
    expect(receiver.ofType('interview.failed')).toHaveLength(3);
    // The metric counts each outcome: two refusals retried; the gap, the failure and the marker delivered.
    // (Counted once the receiver's answer is back: polled.)
    await expect
      .poll(async () => {
        const after = await deliveries(t);
        return { retry: after.retry - deliveriesBefore.retry, delivered: after.delivered - deliveriesBefore.delivered };
      })
      .toEqual({ retry: 2, delivered: receiver.received.length - 2 });
  });

  it("carries the host app's externalId and metadata in every event, each body as the OpenAPI document describes it", async () => {
    const secret = webhookSecret();
    const receiver = await WebhookReceiver.start(secret);
    cleanups.push(() => receiver.close());
    const t = await startTestService({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret });
    cleanups.push(() => t.close());
    const metadata = { jobId: 7, stage: 'technical', panel: ['ada', 'grace'] };
    const { body: created } = await t.api<{ id: string }>('POST', '/api/interviews', { durationSeconds: 60, externalId: 'ats:interview-7', metadata });
    // A gap from an earlier run (a leftover segment), then the end before any media: interview.gap and interview.completed.
    const segment = path.join(t.dataDir, 'recordings', created.id, 'segment-000');
    fs.mkdirSync(segment, { recursive: true });
    fs.writeFileSync(path.join(segment, 'screen.webm'), Buffer.alloc(4096, 0x5a));
    await t.api('POST', `/api/interviews/${created.id}/end`, {});
    await waitFor(() => receiver.ofType('interview.failed')[0] ?? receiver.ofType('interview.completed')[0], { timeoutMs: 20_000, what: 'the final event' });
    await waitFor(() => receiver.ofType('interview.gap')[0], { timeoutMs: 10_000, what: 'interview.gap' });

    const { body: document } = await t.api<{ webhooks: Record<string, { post: { requestBody: { content: { 'application/json': { schema: { properties: { data: { required: string[] } } } } } } } }> }>('GET', '/api/openapi.json');
    for (const webhook of receiver.received) {
      expect(webhook.verificationError).toBeUndefined();
      const { type, data } = webhook.body!;
      expect(data).toMatchObject({ interviewId: created.id, externalId: 'ats:interview-7', metadata });
      // Exactly the fields the document names for that type (all of them required).
      const described = document.webhooks[type]!.post.requestBody.content['application/json'].schema.properties.data.required;
      expect(Object.keys(data).sort(), type).toEqual([...described].sort());
    }
  });

  it('loses no event when the service is killed between commit and delivery: the restart delivers it with the same id', async () => {
    const secret = webhookSecret();
    const receiver = await WebhookReceiver.start(secret);
    cleanups.push(() => receiver.close());
    // The first delivery is received but never answered: the service dies with it in flight.
    receiver.answer = () => (receiver.received.length === 1 ? 'hang' : 200);
    const env = await serviceEnv({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret });
    cleanups.push(() => fs.rmSync(env.DATA_DIR, { recursive: true, force: true }));
    const first = await ServiceProcess.start(env);
    cleanups.push(() => first.kill());
    const { body: created } = await first.api<{ id: string }>('POST', '/api/interviews', { durationSeconds: 60 });
    // Ended before any media: it completes at once (no recordings), and interview.completed is committed.
    await first.api('POST', `/api/interviews/${created.id}/end`, {});
    await waitFor(() => receiver.received.length === 1, { timeoutMs: 10_000, what: 'the first attempt' });
    await first.kill();

    const second = await ServiceProcess.start(env);
    cleanups.push(() => second.kill());
    await waitFor(() => receiver.received.length >= 2, { timeoutMs: 10_000, what: 'the delivery after the restart' });
    const [before, after] = receiver.received;
    expect(after!.id).toBe(before!.id);
    expect(after!.verificationError).toBeUndefined();
    expect(after!.body).toEqual(before!.body);
    expect(after!.body).toMatchObject({ type: 'interview.completed', data: { interviewId: created.id, screenVideo: '', candidateVideo: '' } });
    await waitFor(async () => (await second.api<WebhookState[]>('GET', `/api/interviews/${created.id}/webhooks`)).body[0]?.state === 'delivered', { what: 'delivered state' });
    // Delivered once acknowledged, and not again.
    expect(receiver.received.length).toBe(2);
  });
});
