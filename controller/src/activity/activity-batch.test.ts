import { planBatch, type QueuedReport } from './activity-batch';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

function report(agentId: string, seq: number, rules: [string, number][] = [['r1', 1]]): QueuedReport {
  return {
    agentId,
    report: { seq, periodEndMs: T0 + seq * 1000, rules: rules.map(([ruleId, packetsIn]) => ({ ruleId, packetsIn, bytesIn: packetsIn * 100, packetsOut: 1, bytesOut: 10, conversationsNew: 1, lastHitMs: T0 })) },
  };
}

describe('planBatch', () => {
  it('keeps reports above the stored seq, in order, and counts a repeated seq once', () => {
    const batch = [report('a', 3), report('a', 4), report('a', 4, [['r1', 50]]), report('a', 5), report('b', 1)];
    const plan = planBatch(batch, new Map([['a', 3], ['b', 0]]));
    expect(plan.outcomes).toEqual(['duplicate', 'stored', 'duplicate', 'stored', 'stored']);
    expect(plan.stored).toEqual([batch[1], batch[3], batch[4]]);
    expect(plan.watermarks).toEqual({ agentIds: ['a', 'b'], seqs: [5, 1] });
  });

  it('stores nothing for an agent that no longer exists, and moves no watermark for duplicates only', () => {
    const plan = planBatch([report('gone', 1), report('c', 2), report('d', 7)], new Map([['c', 2], ['d', 0]]));
    expect(plan.outcomes).toEqual(['unknown_agent', 'duplicate', 'stored']);
    expect(plan.stored.map((q) => q.agentId)).toEqual(['d']);
    expect(plan.watermarks).toEqual({ agentIds: ['d'], seqs: [7] });
  });

  it('names the agents whose watermark moves in id order (the lock order of every writer)', () => {
    const plan = planBatch([report('z', 1), report('b', 1), report('m', 1)], new Map([['z', 0], ['b', 0], ['m', 0]]));
    expect(plan.watermarks.agentIds).toEqual(['b', 'm', 'z']);
  });
});
