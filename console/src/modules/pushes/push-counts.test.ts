import type { PushState } from '@/api/types';
import { countsOf, isFinished } from './push-counts';

const counts = (...states: PushState[]) => {
  const body: Partial<Record<PushState, number>> = {};
  for (const s of states) body[s] = (body[s] ?? 0) + 1;
  return countsOf(body);
};

describe('push counts', () => {
  it('fills the states the controller left out and totals them', () => {
    expect(counts('applied', 'failed', 'pending', 'applied', 'delivered', 'waiting', 'superseded')).toEqual({
      applied: 2, failed: 1, pending: 1, delivered: 1, waiting: 1, superseded: 1, cancelled: 0, total: 7,
    });
    expect(countsOf(undefined).total).toBe(0);
  });

  it('is finished only when no agent is waiting, pending or delivered', () => {
    expect(isFinished(counts('applied', 'failed', 'superseded', 'cancelled'))).toBe(true);
    expect(isFinished(counts('applied', 'delivered'))).toBe(false);
    expect(isFinished(counts('pending'))).toBe(false);
    expect(isFinished(counts('applied', 'waiting'))).toBe(false);
  });
});
