import type { PushCountsBody, PushState } from '@/api/types';

/** In the order the bar stacks them. */
export const PUSH_STATES: readonly PushState[] = ['applied', 'delivered', 'pending', 'waiting', 'failed', 'superseded', 'cancelled'];

/** The states of a target still to be settled: waiting for its wave, to be sent, or for an answer. */
export const OPEN_STATES: readonly PushState[] = ['waiting', 'pending', 'delivered'];

export type PushCounts = Record<PushState, number> & { total: number };

/** The controller's per-state counts (a push summary's `counts`, aggregated in SQL) with their total. */
export function countsOf(body: Partial<PushCountsBody> | undefined): PushCounts {
  const counts = Object.fromEntries(PUSH_STATES.map((s) => [s, body?.[s] ?? 0])) as PushCounts;
  counts.total = PUSH_STATES.reduce((sum, s) => sum + counts[s], 0);
  return counts;
}

/** Nothing more will change once no target waits for its wave, to be sent, or for an answer. */
export const isFinished = (counts: PushCounts): boolean => OPEN_STATES.every((s) => counts[s] === 0);
