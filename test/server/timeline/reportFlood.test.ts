// A modified candidate page floods the timeline: 10,000 reportEvent in about 10 s over one raw
// socket.io connection. The interview stores a bounded number, refuses the rest (accepted: false)
// and counts them in ONE events_dropped entry; another interview on the same service meanwhile
// records cleanly and its own page's reports are accepted.
import { afterAll, describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../../shared/timeline.ts';
import { TimelineEntry } from '../../../server/db/TimelineEntry.ts';
import { publishSynthetic, waitForRecordedBytes, waitForStatus } from '../../support/recordedInterview.ts';
import type { SyntheticPublisher } from '../../support/syntheticPublisher.ts';
import { waitFor } from '../../support/testConfig.ts';
import { startTestService, type TestService } from '../../support/testService.ts';
import { connect, request, type RawSocket } from '../../signaling/signalingClient.ts';
import type { AckResult } from '../../../shared/protocol.ts';

const FLOOD = 10_000;
const FLOOD_MS = 10_000;
/** The signalling server answers at most this many requests in flight per connection. */
const IN_FLIGHT = 16;

describe('a flood of timeline reports from a modified page', () => {
  let t: TestService | undefined;
  let publisher: SyntheticPublisher | undefined;
  const sockets: RawSocket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await publisher?.close();
    await t?.close();
  });

  it('is bounded and coalesced into one events_dropped with the count, while another interview records cleanly', async () => {
    t = await startTestService();
    const flooded = await t.createInterview({ durationSeconds: 300 });
    const clean = await t.createInterview({ durationSeconds: 300 });
    publisher = await publishSynthetic(t, clean.id);
    await waitForRecordedBytes(t, clean.id, 50_000);

    const flooder = await connect(t.url, flooded.candidateToken);
    const cleanPage = await connect(t.url, clean.candidateToken);
    sockets.push(flooder, cleanPage);
    expect((await request(flooder, 'join', { interviewId: flooded.id })).ok).toBe(true);
    expect((await request(cleanPage, 'join', { interviewId: clean.id })).ok).toBe(true);

    // The flood: IN_FLIGHT senders share the 10,000, each send no earlier than its slot in 10 s.
    let next = 0;
    let accepted = 0;
    let refused = 0;
    const otherErrors: string[] = [];
    const cleanAnswers: boolean[] = [];
    const started = Date.now();
    const sender = async () => {
      while (next < FLOOD) {
        const i = next++;
        const slot = started + (i * FLOOD_MS) / FLOOD;
        if (slot > Date.now()) await new Promise((resolve) => setTimeout(resolve, slot - Date.now()));
        const answer = (await flooder.timeout(30_000).emitWithAck('reportEvent', { kind: i % 2 ? 'copied' : 'tab_hidden', at: Date.now(), details: { i } })) as AckResult<{ accepted: boolean }>;
        if (!answer.ok) otherErrors.push(answer.error.code);
        else if (answer.data.accepted) accepted++;
        else refused++;
      }
    };
    // The other interview's page reports once a second meanwhile.
    const cleanReporter = (async () => {
      while (next < FLOOD) {
        const answer = (await request(cleanPage, 'reportEvent', { kind: 'window_blurred', at: Date.now() })) as AckResult<{ accepted: boolean }>;
        cleanAnswers.push(answer.ok && answer.data.accepted);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    await Promise.all([...Array.from({ length: IN_FLIGHT }, sender), cleanReporter]);
    const elapsedSeconds = (Date.now() - started) / 1000;
    console.log(`flood: ${FLOOD} reports in ${elapsedSeconds.toFixed(1)} s; ${accepted} accepted, ${refused} refused`);

    expect(otherErrors).toEqual([]);
    expect(accepted + refused).toBe(FLOOD);
    // A burst of 50, then 10 a second.
    expect(accepted).toBeGreaterThanOrEqual(50);
    expect(accepted).toBeLessThanOrEqual(50 + Math.ceil(elapsedSeconds * 10) + 1);

    // Stored: what was accepted, plus ONE events_dropped whose count is every refusal.
    const stored = await waitFor(
      async () => {
        const { body } = await t!.api<TimelineEvent[]>('GET', `/api/interviews/${flooded.id}/events`);
        const dropped = body.filter((event) => event.kind === 'events_dropped');
        return dropped.length === 1 && dropped[0]!.details.count === refused ? body : undefined;
      },
      { timeoutMs: 10_000, what: 'events_dropped to count every refusal' },
    );
    expect(stored.filter((event) => event.kind === 'events_dropped')).toHaveLength(1);
    expect(stored.filter((event) => event.source === 'candidate')).toHaveLength(accepted);
    expect(await t.service.interviews.database.em().count(TimelineEntry, { interviewId: flooded.id })).toBe(stored.length);

    // The other interview: every report accepted, no events_dropped, recording without gaps.
    expect(cleanAnswers.length).toBeGreaterThanOrEqual(5);
    expect(cleanAnswers.every(Boolean)).toBe(true);
    expect((await t.api('POST', `/api/interviews/${clean.id}/end`, {})).status).toBe(200);
    const done = await waitForStatus(t, clean.id, 'completed', 90_000);
    expect(done.gaps).toEqual([]);
    expect(done.screenVideo).toMatch(/screen\.webm$/);
    const { body: cleanLog } = await t.api<TimelineEvent[]>('GET', `/api/interviews/${clean.id}/events`);
    expect(cleanLog.some((event) => event.kind === 'events_dropped')).toBe(false);
    expect(cleanLog.filter((event) => event.kind === 'window_blurred')).toHaveLength(cleanAnswers.length);
  }, 120_000);
});
