import { describe, expect, it } from 'vitest';
import { InterviewStatus as S, assertTransition, canTransition, hasEnded } from '../../../server/db/InterviewStatus.ts';

describe('interview status transitions', () => {
  const all = Object.values(S);
  const allowed = new Set([
    `${S.Created}>${S.Live}`,
    `${S.Created}>${S.Finalizing}`,
    `${S.Live}>${S.Finalizing}`,
    `${S.Finalizing}>${S.Completed}`,
    `${S.Finalizing}>${S.Failed}`,
    `${S.Failed}>${S.Finalizing}`,
  ]);

  it.each(all.flatMap((from) => all.map((to) => [from, to] as const)))('%s → %s is allowed only if listed', (from, to) => {
    expect(canTransition(from, to)).toBe(allowed.has(`${from}>${to}`));
    if (!allowed.has(`${from}>${to}`)) expect(() => assertTransition(from, to)).toThrow(`cannot go from ${from} to ${to}`);
  });

  it('counts only created and live as not ended', () => {
    expect(all.filter((status) => !hasEnded(status))).toEqual([S.Created, S.Live]);
  });
});
