// The interview's timeline end to end on a real service: a candidate's page reports through
// signalling (raw socket.io-client), the server adds what it observes, proctors get it live and on
// join, the admin and review APIs list it, the finalized interview has timeline.vtt beside its
// recordings, and the webhooks carry the summary and the flagged kinds.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../../shared/timeline.ts';
import { download, publishSynthetic, waitForRecordedBytes, waitForStatus, type InterviewView } from '../../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../../support/syntheticPublisher.ts';
import { waitFor } from '../../support/testConfig.ts';
import { startTestService, type CreatedInterview, type TestService } from '../../support/testService.ts';
import { vttCues } from '../../support/webVtt.ts';
import { WebhookReceiver, webhookSecret } from '../../support/webhookReceiver.ts';
import { connect, request, type RawSocket } from '../../signaling/signalingClient.ts';

describe("an interview's timeline", () => {
  let t: TestService;
  let receiver: WebhookReceiver;
  let interview: CreatedInterview;
  let publisher: SyntheticPublisher | undefined;
  let candidate: RawSocket;
  let proctor: RawSocket;
  const live: TimelineEvent[] = [];
  let joinedWith: TimelineEvent[] = [];

  const events = async (): Promise<TimelineEvent[]> => {
    const { status, body } = await t.api<TimelineEvent[]>('GET', `/api/interviews/${interview.id}/events`);
    expect(status).toBe(200);
    return body;
  };

  beforeAll(async () => {
    const secret = webhookSecret();
    receiver = await WebhookReceiver.start(secret);
    t = await startTestService({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: secret, FLAG_EVENTS: 'screen_share_stopped,pasted' });
    interview = await t.createInterview({ durationSeconds: 120 });
    publisher = await publishSynthetic(t, interview.id);
    await waitFor(async () => (await events()).some((event) => event.kind === 'interview_live'), { timeoutMs: 30_000, what: 'interview_live in the timeline' });
    proctor = await connect(t.url, interview.proctorToken);
    proctor.on('timelineEvent', (event: TimelineEvent) => live.push(event));
    const joined = await request(proctor, 'join', { interviewId: interview.id });
    expect(joined.ok).toBe(true);
    joinedWith = (joined as { ok: true; data: { events: TimelineEvent[] } }).data.events;
    candidate = await connect(t.url, interview.candidateToken);
    expect((await request(candidate, 'join', { interviewId: interview.id })).ok).toBe(true);
  }, 60_000);

  afterAll(async () => {
    candidate?.disconnect();
    proctor?.disconnect();
    await publisher?.close();
    await t?.close();
    await receiver?.close();
  });

  it('gives a joining proctor the history, stores a report with the server time deciding and the browser time kept, and sends it to the proctor live', async () => {
    expect(joinedWith.map((event) => event.kind)).toContain('interview_live');
    const browserAt = Date.now() - 3600_000; // a browser clock an hour behind
    const before = Date.now();
    const answer = await request(candidate, 'reportEvent', { kind: 'tab_hidden', at: browserAt, details: { visibility: 'hidden' } });
    expect(answer).toEqual({ ok: true, data: { accepted: true } });
    const stored = (await events()).find((event) => event.kind === 'tab_hidden')!;
    expect(stored).toMatchObject({ source: 'candidate', browserAt: new Date(browserAt).toISOString(), details: { visibility: 'hidden' } });
    expect(Date.parse(stored.at)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(stored.at)).toBeLessThanOrEqual(Date.now());
    expect(stored.mediaSeconds).toBeGreaterThan(0);
    const seqs = (await events()).map((event) => event.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    await waitFor(() => live.find((event) => event.seq === stored.seq), { what: 'the report live at the proctor' });
    expect(live.find((event) => event.seq === stored.seq)).toEqual(stored);
  });

  it('refuses server kinds, unknown kinds and oversized details from a page with an error ack, and reports from a proctor', async () => {
    const count = (await events()).length;
    const refusals = [
      { kind: 'interview_ended', at: Date.now() },
      { kind: 'events_dropped', at: Date.now(), details: { count: 0 } },
      { kind: 'made_up', at: Date.now() },
      { kind: 'copied', at: Date.now(), details: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i])) },
      { kind: 'copied', at: Date.now(), details: { text: 'x'.repeat(201) } },
      { kind: 'copied', at: Date.now(), details: { nested: { a: 1 } } },
      { kind: 'copied', at: -1 },
      { kind: 'copied', at: Date.now(), extra: true },
    ];
    for (const payload of refusals) {
      const answer = await request(candidate, 'reportEvent', payload);
      expect(answer.ok, JSON.stringify(payload)).toBe(false);
      expect((answer as { ok: false; error: { code: string } }).error.code).toBe('invalid_input');
    }
    const fromProctor = await request(proctor, 'reportEvent', { kind: 'copied', at: Date.now() });
    expect(fromProctor).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect((await events()).length).toBe(count);
  });

  it('serves the log to a proctor link for the review page, not to the candidate link', async () => {
    const asRole = (token: string | undefined) => fetch(`${t.url}/session/${interview.id}/events`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const proctorAnswer = await asRole(interview.proctorToken);
    expect(proctorAnswer.status).toBe(200);
    expect(await proctorAnswer.json()).toEqual(await events());
    expect((await asRole(interview.candidateToken)).status).toBe(403);
    expect((await asRole(undefined)).status).toBe(401);
  });

  it('sends interview.flagged for a flagged kind as it is stored, and nothing for the others', async () => {
    expect((await request(candidate, 'reportEvent', { kind: 'pasted', at: Date.now(), details: { length: 42 } })).ok).toBe(true);
    const flagged = await waitFor(() => receiver.ofType('interview.flagged')[0], { timeoutMs: 15_000, what: 'interview.flagged' });
    expect(flagged.body!.data).toMatchObject({ interviewId: interview.id, event: { kind: 'pasted', source: 'candidate', details: { length: 42 } } });
    expect(receiver.ofType('interview.flagged').map((hook) => (hook.body!.data as { event: TimelineEvent }).event.kind)).toEqual(['pasted']);
  });

  it('ends with the cause in the log, timeline.vtt stored beside the recordings (it parses, one cue per event at its media time), and the summary in interview.completed', async () => {
    await waitForRecordedBytes(t, interview.id, 150_000);
    const ended = await t.api('POST', `/api/interviews/${interview.id}/end`, {});
    expect(ended.status).toBe(200);
    const after = await request(candidate, 'reportEvent', { kind: 'copied', at: Date.now() });
    expect(after.ok === false || (after.ok && !(after.data as { accepted: boolean }).accepted)).toBe(true);
    const done: InterviewView = await waitForStatus(t, interview.id, 'completed', 90_000);
    const log = await events();
    expect(log.filter((event) => event.kind === 'interview_ended')).toEqual([expect.objectContaining({ source: 'server', details: { cause: 'admin' } })]);
    expect(log.some((event) => event.kind === 'copied')).toBe(false);
    expect(log.map((event) => event.kind)).toEqual(expect.arrayContaining(['interview_live', 'proctor_joined', 'tab_hidden', 'pasted', 'interview_ended']));

    expect(done.timelineVtt, JSON.stringify(done)).toMatch(/timeline\.vtt$/);
    const { status, body: review } = await fetch(`${t.url}/session/${interview.id}/recording`, { headers: { authorization: `Bearer ${interview.proctorToken}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as { timelineVtt: string | null } }));
    expect(status).toBe(200);
    expect(review.timelineVtt).toMatch(/timeline\.vtt\?/);
    const vttAnswer = await fetch(review.timelineVtt!);
    expect(vttAnswer.status).toBe(200);
    expect(vttAnswer.headers.get('content-type')).toMatch(/^text\/vtt/);
    const file = await download(done.timelineVtt);
    expect(fs.readFileSync(file, 'utf8').startsWith('WEBVTT\n')).toBe(true);
    const cues = await vttCues(file);
    const timed = log.filter((event) => event.mediaSeconds !== null);
    expect(cues.length).toBe(timed.length);
    for (const cue of cues) {
      const event = JSON.parse(cue.text.split('\n')[1]!) as TimelineEvent;
      expect(event).toEqual(log.find((stored) => stored.seq === event.seq));
      expect(cue.start).toBeCloseTo(event.mediaSeconds!, 3);
    }

    const completed = await waitFor(() => receiver.ofType('interview.completed')[0], { timeoutMs: 15_000, what: 'interview.completed' });
    const summary: Record<string, number> = {};
    for (const event of log) summary[event.kind] = (summary[event.kind] ?? 0) + 1;
    expect(completed.body!.data).toMatchObject({ interviewId: interview.id, timelineVtt: done.timelineVtt, timeline: summary });
  }, 120_000);
});
