import type { Push, PushState } from '@/api/types';
import { countTargets, isFinished } from './push-counts';

const push = (...states: PushState[]): Push => ({
  id: 'p1',
  ruleSetId: 'rs1',
  version: 3,
  createdAt: '2026-01-01T00:00:00Z',
  targets: states.map((state, i) => ({ agentId: `a${i}`, state, errors: [], updatedAt: '2026-01-01T00:00:00Z' })),
});

describe('push counts', () => {
  it('counts targets per state', () => {
    expect(countTargets(push('applied', 'failed', 'pending', 'applied', 'delivered'))).toEqual({
      applied: 2, failed: 1, pending: 1, delivered: 1, total: 5,
    });
  });

  it('is finished only when every agent applied or failed', () => {
    expect(isFinished(countTargets(push('applied', 'failed')))).toBe(true);
    expect(isFinished(countTargets(push('applied', 'delivered')))).toBe(false);
    expect(isFinished(countTargets(push('pending')))).toBe(false);
  });
});
