// A failed interview is delivered again by the service itself, with backoff, within a bound: the
// schedule (a pure function of how many deliveries failed in a row and when the interview ended),
// and what the database keeps of it — when the next retry is due, that only one node takes a due
// retry, and that a retry failing again records no new webhook unless the outcome changes.
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/loadConfig.ts';
import { Database } from '../../../server/db/Database.ts';
import { WebhookEvent } from '../../../server/db/WebhookEvent.ts';
import { nextRetryAt, retryDelayMs, retrySweepIntervalMs, type FailedRetrySchedule } from '../../../server/lifecycle/FailedRetrySchedule.ts';
import { InterviewService, toView } from '../../../server/lifecycle/InterviewService.ts';
import { WebhookOutbox } from '../../../server/webhooks/WebhookOutbox.ts';
import { tempDir } from '../../support/testConfig.ts';
import { webhookSecret } from '../../support/webhookReceiver.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const ended = new Date('2026-12-07T10:00:00.000Z');
const at = (ms: number) => new Date(ended.getTime() + ms);

describe('the retry schedule of a failed interview', () => {
  const schedule: FailedRetrySchedule = { delaysMs: [1, 2, 5, 10, 30, 60].map((minutes) => minutes * MINUTE), forMs: 7 * DAY };

  it('is the documented default: 1, 2, 5, 10 and 30 minutes, then every hour, up to 7 days after the end', () => {
    expect(loadConfig({}, '/').failedRetry).toEqual(schedule);
  });

  it('waits the n-th delay after the n-th failed delivery in a row, and the last one from then on', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((failures) => retryDelayMs(schedule, failures)! / MINUTE)).toEqual([1, 2, 5, 10, 30, 60, 60, 60]);
    expect(retryDelayMs(schedule, 0)).toBeUndefined();
    // Counted from when the delivery failed, not from the end.
    expect(nextRetryAt(schedule, 3, ended, at(20 * MINUTE))).toEqual(at(25 * MINUTE));
  });

  it('schedules no retry past the bound: the last one falls within 7 days of the end', () => {
    expect(nextRetryAt(schedule, 9, ended, at(7 * DAY - 60 * MINUTE))).toEqual(at(7 * DAY));
    expect(nextRetryAt(schedule, 9, ended, at(7 * DAY - 59 * MINUTE))).toBeNull();
    // A first failure long after the end (a late retry-upload) gets none either.
    expect(nextRetryAt(schedule, 1, ended, at(8 * DAY))).toBeNull();
  });

  it('schedules none when automatic retries are off (FAILED_UPLOAD_RETRY_DAYS=0)', () => {
    const off = loadConfig({ FAILED_UPLOAD_RETRY_DAYS: '0' }, '/').failedRetry;
    expect(nextRetryAt(off, 1, ended, ended)).toBeNull();
  });

  it('takes a shorter schedule from FAILED_UPLOAD_RETRY_SECONDS, and is looked for every 15 s or the shortest wait', () => {
    const short = loadConfig({ FAILED_UPLOAD_RETRY_SECONDS: '1,3' }, '/').failedRetry;
    expect(short.delaysMs).toEqual([1000, 3000]);
    expect(retrySweepIntervalMs(short)).toBe(1000);
    expect(retrySweepIntervalMs(schedule)).toBe(15_000);
  });

  it('over 7 days of a store that never comes back, tries about 170 times (not counting each try’s own UPLOAD_RETRY_WINDOW_SECONDS)', () => {
    let now = ended;
    let tries = 0;
    for (let next = nextRetryAt(schedule, 1, ended, now); next; next = nextRetryAt(schedule, ++tries + 1, ended, now)) now = next;
    expect(tries).toBe(172);
    expect(now.getTime()).toBeLessThanOrEqual(at(7 * DAY).getTime());
  });
});

describe('failed interviews in the database', () => {
  const opened: Database[] = [];
  afterEach(async () => {
    for (const database of opened.splice(0)) await database.close();
  });

  async function service(schedule: FailedRetrySchedule) {
    const { database } = await Database.open(path.join(tempDir(), 'retries.sqlite'));
    opened.push(database);
    // Enabled (a URL and a secret) but never started: it records events, it sends none.
    const webhooks = new WebhookOutbox({ database, url: 'http://127.0.0.1:9/hooks', secret: webhookSecret(), logger: pino({ level: 'silent' }) });
    const interviews = new InterviewService(database, webhooks, { retrySchedule: schedule });
    const events = async (id: string) => (await database.em().find(WebhookEvent, { interviewId: id }, { orderBy: { createdAt: 'asc' } })).map((event) => event.payload.data);
    return { database, interviews, events };
  }

  const nodeA = { node: 'node-a', ttlMs: 15_000 };
  const nodeB = { node: 'node-b', ttlMs: 15_000 };

  it('keep when the next retry is due, let one of two nodes take it, and record interview.failed only when the outcome changes', async () => {
    const { interviews, events } = await service({ delaysMs: [60_000, 3_600_000], forMs: 2 * 3_600_000 });
    const { interview } = await interviews.create({ durationSeconds: 60 });
    const id = interview.id;
    await interviews.end(id, {}, nodeA, ended);

    // The first failure: due a minute later, one interview.failed saying so.
    const first = (await interviews.fail(id, 'the store is down', nodeA.node, at(MINUTE)))!;
    expect({ failedDeliveries: first.failedDeliveries, nextRetryAt: first.nextRetryAt }).toEqual({ failedDeliveries: 1, nextRetryAt: at(2 * MINUTE) });
    expect(toView(first)).toMatchObject({ status: 'failed', failureReason: 'the store is down', nextRetryAt: at(2 * MINUTE).toISOString() });
    expect(await events(id)).toEqual([{ interviewId: id, externalId: null, metadata: null, reason: 'the store is down', nextRetryAt: at(2 * MINUTE).toISOString() }]);

    // Not due yet: nobody takes it.
    expect((await interviews.dueRetries(at(2 * MINUTE - 1))).map((due) => due.id)).toEqual([]);
    expect(await interviews.reopenDueRetry(id, nodeA, at(2 * MINUTE - 1))).toBe(false);
    // Due: both nodes find it, one takes it (and its finalization claim with it).
    expect((await interviews.dueRetries(at(2 * MINUTE))).map((due) => due.id)).toEqual([id]);
    const taken = await Promise.all([interviews.reopenDueRetry(id, nodeA, at(2 * MINUTE)), interviews.reopenDueRetry(id, nodeB, at(2 * MINUTE))]);
    expect(taken.filter(Boolean)).toHaveLength(1);
    const winner = taken[0] ? nodeA : nodeB;
    const loser = taken[0] ? nodeB : nodeA;
    const retrying = await interviews.get(id);
    expect({ status: retrying.status, finalizingNode: retrying.finalizingNode, view: toView(retrying).nextRetryAt }).toEqual({ status: 'finalizing', finalizingNode: winner.node, view: null });
    expect(await interviews.claimFinalization(id, loser, at(2 * MINUTE))).toBe(false);
    expect(await interviews.fail(id, 'still down', loser.node, at(3 * MINUTE))).toBeUndefined();

    // The retry fails again: the next wait, and no new event (the outcome is still "failed, retried").
    const second = (await interviews.fail(id, 'still down', winner.node, at(3 * MINUTE)))!;
    expect({ failedDeliveries: second.failedDeliveries, nextRetryAt: second.nextRetryAt, failureReason: second.failureReason }).toEqual({
      failedDeliveries: 2,
      nextRetryAt: at(63 * MINUTE),
      failureReason: 'still down',
    });
    expect(await events(id)).toHaveLength(1);

    // The next one would fall past the bound: no retry is due any more, and that is news.
    expect(await interviews.reopenDueRetry(id, winner, at(63 * MINUTE))).toBe(true);
    const last = (await interviews.fail(id, 'still down', winner.node, at(64 * MINUTE)))!;
    expect({ failedDeliveries: last.failedDeliveries, nextRetryAt: last.nextRetryAt, view: toView(last).nextRetryAt }).toEqual({ failedDeliveries: 3, nextRetryAt: null, view: null });
    expect((await events(id)).map((data) => data.nextRetryAt)).toEqual([at(2 * MINUTE).toISOString(), null]);
    expect(await interviews.dueRetries(at(30 * DAY))).toEqual([]);

    // An operator's retry-upload that fails again changes nothing for the receiver either.
    expect(await interviews.reopenFailed(id)).toBe(true);
    expect(await interviews.claimFinalization(id, nodeA, at(65 * MINUTE))).toBe(true);
    await interviews.fail(id, 'still down', nodeA.node, at(66 * MINUTE));
    expect(await events(id)).toHaveLength(2);

    // One that succeeds: completed, nothing due, interview.completed.
    expect(await interviews.reopenFailed(id)).toBe(true);
    expect(await interviews.claimFinalization(id, nodeA, at(67 * MINUTE))).toBe(true);
    const done = (await interviews.complete(id, { screenVideo: 'https://media/screen.webm', candidateVideo: 'https://media/candidate.webm' }, nodeA.node))!;
    expect(toView(done)).toMatchObject({ status: 'completed', failureReason: null, nextRetryAt: null, screenVideo: 'https://media/screen.webm' });
    expect(done.nextRetryAt).toBeNull();
    expect((await events(id)).map((data) => Object.keys(data).includes('screenVideo'))).toEqual([false, false, true]);
  });

  it('keep no retry for an interview that failed with automatic retries off, and still record its interview.failed', async () => {
    const { interviews, events } = await service({ delaysMs: [60_000], forMs: 0 });
    const { interview } = await interviews.create({ durationSeconds: 60 });
    await interviews.end(interview.id, {}, nodeA, ended);
    const failed = (await interviews.fail(interview.id, 'the store is down', nodeA.node, at(MINUTE)))!;
    expect(failed.nextRetryAt).toBeNull();
    expect(await interviews.dueRetries(at(DAY))).toEqual([]);
    expect((await events(interview.id)).map((data) => data.nextRetryAt)).toEqual([null]);
  });
});
