import type { Push, PushState } from '@/api/types';
import { countTargets, isFinished } from './push-counts';

const push = (...states: PushState[]): Pick<Push, 'targets'> => ({
  targets: states.map((state, i) => ({ agentId: `a${i}`, state, errors: [], updatedAt: '2026-01-01T00:00:00Z' })),
});

describe('push counts', () => {
  it('counts targets per state', () => {
    expect(countTargets(push('applied', 'failed', 'pending', 'applied', 'delivered', 'waiting', 'superseded'))).toEqual({
      applied: 2, failed: 1, pending: 1, delivered: 1, waiting: 1, superseded: 1, cancelled: 0, total: 7,
    });
  });

  it('is finished only when no agent is waiting, pending or delivered', () => {
    expect(isFinished(countTargets(push('applied', 'failed', 'superseded', 'cancelled')))).toBe(true);
    expect(isFinished(countTargets(push('applied', 'delivered')))).toBe(false);
    expect(isFinished(countTargets(push('pending')))).toBe(false);
    expect(isFinished(countTargets(push('applied', 'waiting')))).toBe(false);
  });
});
