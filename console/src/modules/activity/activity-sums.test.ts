import { sumByAgent, sumsOfAgents } from './activity-sums';

const total = (agentId: string, ruleId: string, n: number, lastHitAt: string | null) => ({
  agentId, ruleId, packetsIn: n, bytesIn: n * 100, packetsOut: 1, bytesOut: 10, conversations: 1, lastHitAt,
});

describe('activity sums', () => {
  it('per-agent totals read the same as the per-rule rows summed (both directions)', () => {
    const rows = [total('a', 'r1', 3, '2030-01-01T00:00:01.000Z'), total('a', 'r2', 4, '2030-01-01T00:00:09.000Z'), total('b', 'r1', 1, null)];
    const perAgent = [
      { agentId: 'a', packetsIn: 7, bytesIn: 700, packetsOut: 2, bytesOut: 20, conversations: 2, lastHitAt: '2030-01-01T00:00:09.000Z' },
      { agentId: 'b', packetsIn: 1, bytesIn: 100, packetsOut: 1, bytesOut: 10, conversations: 1, lastHitAt: null },
    ];
    expect(sumsOfAgents(perAgent)).toEqual(sumByAgent(rows));
    expect(sumsOfAgents(perAgent).get('a')).toEqual({ packets: 9, bytes: 720, conversations: 2, lastHitAt: '2030-01-01T00:00:09.000Z' });
  });
});
