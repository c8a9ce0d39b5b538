import { liveActivity, rateWindow, ratesOf } from './activity-rates';

describe('activity rates', () => {
  it('covers the last 60 s: the current minute so far and a share of the previous one, all of it for the first 10 s', () => {
    const minute = Date.UTC(2026, 10, 25, 14, 0, 0);
    expect(rateWindow(minute)).toEqual({ previousMs: minute - 60_000, currentMs: minute, previousShare: 1 });
    expect(rateWindow(minute + 10_000).previousShare).toBe(1);
    expect(rateWindow(minute + 35_000).previousShare).toBe(0.5);
    expect(rateWindow(minute + 60_000 - 1).previousShare).toBeCloseTo(0, 4);
  });

  it('turns per-rule sums into rates per rule, per agent and for the fleet', () => {
    const s = ratesOf(
      [
        { agentId: 'a', ruleId: 'r1', packets: 120, bytes: 12_000, lastHitMs: Date.UTC(2026, 0, 1) },
        { agentId: 'a', ruleId: 'r2', packets: 120, bytes: 0, lastHitMs: 0 },
        { agentId: 'b', ruleId: 'r1', packets: 6, bytes: 600, lastHitMs: 0 },
      ],
      60,
    );
    expect(s.windowSeconds).toBe(60);
    expect(s.fleet).toEqual({ packetsPerSecond: 4.1, bytesPerSecond: 210 });
    expect(s.agents).toEqual([{ agentId: 'a', packetsPerSecond: 4, bytesPerSecond: 200 }, { agentId: 'b', packetsPerSecond: 0.1, bytesPerSecond: 10 }]);
    expect(s.rules[0]).toEqual({ agentId: 'a', ruleId: 'r1', packetsPerSecond: 2, bytesPerSecond: 200, lastHitAt: '2026-01-01T00:00:00.000Z' });
    expect(s.rules[1]!.lastHitAt).toBeNull();
  });

  it('puts the busiest agents and rules in the live event and counts the rest', () => {
    const sums = [5, 50, 1, 20].flatMap((packets, i) => [
      { agentId: `a${i}`, ruleId: 'r1', packets, bytes: 0, lastHitMs: 0 },
      { agentId: `a${i}`, ruleId: 'r2', packets: packets * 2, bytes: 0, lastHitMs: 0 },
    ]);
    const live = liveActivity(ratesOf(sums, 1), 3);
    expect(live.agents.map((a) => a.agentId)).toEqual(['a1', 'a3', 'a0']);
    expect(live.rules.map((r) => `${r.agentId}/${r.ruleId}`)).toEqual(['a1/r2', 'a1/r1', 'a3/r2']);
    expect([live.agentsOmitted, live.rulesOmitted]).toEqual([1, 5]);
    expect(live.fleet).toEqual({ packetsPerSecond: 228, bytesPerSecond: 0 });
    expect(liveActivity(ratesOf(sums, 1))).toMatchObject({ agentsOmitted: 0, rulesOmitted: 0 });
  });
});
