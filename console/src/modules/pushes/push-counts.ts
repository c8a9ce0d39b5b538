import type { Push, PushState } from '@/api/types';

/** In the order the bar stacks them. */
export const PUSH_STATES: readonly PushState[] = ['applied', 'delivered', 'pending', 'waiting', 'failed', 'superseded', 'cancelled'];

const OPEN: ReadonlySet<PushState> = new Set(['waiting', 'pending', 'delivered']);

export type PushCounts = Record<PushState, number> & { total: number };

export function countTargets(push: Pick<Push, 'targets'>): PushCounts {
  const counts = Object.fromEntries(PUSH_STATES.map((s) => [s, 0])) as PushCounts;
  counts.total = push.targets.length;
  for (const target of push.targets) counts[target.state] += 1;
  return counts;
}

/** Nothing more will change once no target waits for its wave, to be sent, or for an answer. */
export const isFinished = (counts: PushCounts): boolean => PUSH_STATES.every((s) => !OPEN.has(s) || counts[s] === 0);
