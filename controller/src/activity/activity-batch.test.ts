import { planBatch, type QueuedReport } from './activity-batch';
import { bucketStartMs, HOUR_MS, minuteCutoffMs, MINUTE_MS } from './activity-buckets';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const minute = (periodEndMs: number) => Math.floor(periodEndMs / MINUTE_MS) * MINUTE_MS;

function report(agentId: string, seq: number, periodEndMs: number, rules: [string, number][]): QueuedReport {
  return {
    agentId,
    report: { seq, periodEndMs, rules: rules.map(([ruleId, packetsIn]) => ({ ruleId, packetsIn, bytesIn: packetsIn * 100, packetsOut: 1, bytesOut: 10, conversationsNew: 1, lastHitMs: periodEndMs - 5 })) },
  };
}

describe('planBatch', () => {
  it('keeps reports above the stored seq, in order, and counts a repeated seq once', () => {
    const plan = planBatch(
      [report('a', 3, T0, [['r1', 1]]), report('a', 4, T0, [['r1', 2]]), report('a', 4, T0, [['r1', 50]]), report('a', 5, T0, [['r1', 4]]), report('b', 1, T0, [['r1', 8]])],
      new Map([['a', 3], ['b', 0]]),
      minute,
    );
    expect(plan.outcomes).toEqual(['duplicate', 'stored', 'duplicate', 'stored', 'stored']);
    expect(plan.watermarks).toEqual({ agentIds: ['a', 'b'], seqs: [5, 1] });
    expect(plan.buckets.packetsIn).toEqual([6, 8]);
  });

  it('sums one row per (agent, rule, bucket), so the upsert never meets a key twice', () => {
    const plan = planBatch(
      [report('a', 1, T0 + 1_000, [['r1', 1], ['r2', 2]]), report('a', 2, T0 + 6_000, [['r1', 10], ['r1', 100]]), report('a', 3, T0 + 61_000, [['r1', 7]])],
      new Map([['a', 0]]),
      minute,
    );
    const b = plan.buckets;
    expect(b.agentIds.map((a, i) => `${a}/${b.ruleIds[i]}@${b.bucketStartsMs[i]! - T0}`)).toEqual(['a/r1@0', 'a/r1@60000', 'a/r2@0']);
    expect(b.packetsIn).toEqual([111, 7, 2]);
    expect(b.bytesIn).toEqual([11_100, 700, 200]);
    expect(b.packetsOut).toEqual([3, 1, 1]);
    expect(b.conversations).toEqual([3, 1, 1]);
    expect(b.lastHitMs).toEqual([T0 + 6_000 - 5, T0 + 61_000 - 5, T0 + 1_000 - 5]);
  });

  it('orders rows and watermarks by (agent, rule, bucket) whatever the arrival order, so writers lock in one order', () => {
    const plan = planBatch(
      [report('c', 1, T0 + 61_000, [['r2', 1], ['r1', 2]]), report('a', 1, T0, [['r9', 3]]), report('c', 2, T0, [['r1', 4]]), report('b', 1, T0, [['r1', 5]])],
      new Map([['a', 0], ['b', 0], ['c', 0]]),
      minute,
    );
    const b = plan.buckets;
    expect(b.agentIds.map((a, i) => `${a}/${b.ruleIds[i]}@${b.bucketStartsMs[i]! - T0}=${b.packetsIn[i]}`)).toEqual(['a/r9@0=3', 'b/r1@0=5', 'c/r1@0=4', 'c/r1@60000=2', 'c/r2@60000=1']);
    expect(plan.watermarks).toEqual({ agentIds: ['a', 'b', 'c'], seqs: [1, 1, 2] });
  });

  it('stores nothing for an agent that no longer exists', () => {
    const plan = planBatch([report('gone', 1, T0, [['r1', 1]])], new Map(), minute);
    expect(plan.outcomes).toEqual(['unknown_agent']);
    expect(plan.buckets.agentIds).toEqual([]);
    expect(plan.watermarks.agentIds).toEqual([]);
  });
});

describe('buckets', () => {
  it('puts periods past the minute cutoff (an hour boundary) into their hour', () => {
    const now = T0 + 30 * MINUTE_MS;
    const cutoff = minuteCutoffMs(now, 48 * HOUR_MS);
    expect(cutoff).toBe(T0 - 48 * HOUR_MS);
    expect(bucketStartMs(cutoff + 90_000, cutoff)).toBe(cutoff + 60_000);
    expect(bucketStartMs(cutoff - 90_000, cutoff)).toBe(cutoff - HOUR_MS);
  });
});
