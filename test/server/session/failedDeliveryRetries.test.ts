// Who starts a due retry of a failed interview: every node looks, a draining node starts none, and a
// node that cannot read the recording leaves it to one that can. (Which of the nodes that try gets
// it is the database's compare-and-set: test/server/lifecycle/failedRetries.)
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { InterviewService } from '../../../server/lifecycle/InterviewService.ts';
import { FailedDeliveryRetries } from '../../../server/session/FailedDeliveryRetries.ts';
import type { SessionRegistry } from '../../../server/session/SessionRegistry.ts';

function sweeper(options: { due: string[]; draining?: () => boolean; canDeliverHere?: (id: string) => boolean }) {
  const offered: string[] = [];
  const interviews = { dueRetries: async () => options.due.map((id) => ({ id, failedDeliveries: 1, nextRetryAt: new Date() })) } as unknown as InterviewService;
  const sessions = {
    open: (id: string) => ({
      retryWhenDue: async () => {
        offered.push(id);
        return true;
      },
    }),
  } as unknown as SessionRegistry;
  const retries = new FailedDeliveryRetries({
    interviews,
    sessions,
    draining: options.draining ?? (() => false),
    canDeliverHere: options.canDeliverHere ?? (() => true),
    // Only the sweeps a test calls run.
    intervalMs: 3_600_000,
    logger: pino({ level: 'silent' }),
  });
  return { retries, offered };
}

describe('the automatic retries of failed interviews on one node', () => {
  it('offer every due interview to its session, in the order found', async () => {
    const { retries, offered } = sweeper({ due: ['a', 'b', 'c'] });
    await retries.sweep();
    await retries.close();
    expect(offered).toEqual(['a', 'b', 'c']);
  });

  it('start none on a draining node, and stop starting them once it begins to drain', async () => {
    const idle = sweeper({ due: ['a', 'b'], draining: () => true });
    await idle.retries.sweep();
    await idle.retries.close();
    expect(idle.offered).toEqual([]);

    let draining = false;
    const midway = sweeper({ due: ['a', 'b', 'c'], draining: () => draining });
    const open = midway.retries.options.sessions.open.bind(midway.retries.options.sessions);
    // SIGTERM arrives while the first retry is being started.
    midway.retries.options.sessions.open = (id: string) => {
      draining = true;
      return open(id);
    };
    await midway.retries.sweep();
    await midway.retries.close();
    expect(midway.offered).toEqual(['a']);
  });

  it('leave an interview whose recording this node cannot read to a node that can', async () => {
    const { retries, offered } = sweeper({ due: ['here', 'elsewhere'], canDeliverHere: (id) => id === 'here' });
    await retries.sweep();
    await retries.close();
    expect(offered).toEqual(['here']);
  });
});
