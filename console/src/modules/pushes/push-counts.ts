import type { Push, PushState } from '@/api/types';

export const PUSH_STATES: readonly PushState[] = ['applied', 'delivered', 'pending', 'failed'];

export type PushCounts = Record<PushState, number> & { total: number };

export function countTargets(push: Push): PushCounts {
  const counts: PushCounts = { pending: 0, delivered: 0, applied: 0, failed: 0, total: push.targets.length };
  for (const target of push.targets) counts[target.state] += 1;
  return counts;
}

/** A push is finished when every agent applied or failed; nothing more will change. */
export const isFinished = (counts: PushCounts): boolean => counts.applied + counts.failed === counts.total;
