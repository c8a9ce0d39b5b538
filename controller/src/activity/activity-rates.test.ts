import type { EventBus } from '../events/event-bus';
import { ActivityRates } from './activity-rates';

const rule = (ruleId: string, packetsIn: number) => ({ ruleId, packetsIn, packetsOut: 0, bytesIn: packetsIn * 100, bytesOut: 0, lastHitMs: 1_000 });

describe('ActivityRates', () => {
  it('sums the last minute per agent and rule, and forgets older reports', () => {
    // The bus is not what is tested here: snapshot() is what it would publish.
    const rates = new ActivityRates({ publish: () => undefined } as unknown as EventBus);
    const t = 1_800_000_000_000;
    rates.add('a', [rule('r1', 60)], t);
    rates.add('a', [rule('r1', 60), rule('r2', 120)], t + 30_000);
    rates.add('b', [rule('r1', 6)], t + 31_000);
    const s = rates.snapshot(t + 40_000);
    expect(s.fleet).toEqual({ packetsPerSecond: 4.1, bytesPerSecond: 410 });
    expect(s.agents).toEqual([{ agentId: 'a', packetsPerSecond: 4, bytesPerSecond: 400 }, { agentId: 'b', packetsPerSecond: 0.1, bytesPerSecond: 10 }]);
    expect(s.rules.find((r) => r.agentId === 'a' && r.ruleId === 'r1')).toMatchObject({ packetsPerSecond: 2 });
    expect(rates.snapshot(t + 70_000).agents).toEqual([{ agentId: 'a', packetsPerSecond: 3, bytesPerSecond: 300 }, { agentId: 'b', packetsPerSecond: 0.1, bytesPerSecond: 10 }]);
    expect(rates.snapshot(t + 100_000).agents).toEqual([]);
    rates.onModuleDestroy();
  });
});
