import type { PushState } from '@/api/types';
import { nextKeysetPage, previousKeysetPage, readKeysetPlace, writeKeysetPlace, type KeysetPlace } from '@/ui/keyset-query';
import { OPEN_STATES, type PushCounts } from './push-counts';

/** The target views the state menu offers: the operator's first question is "which failed?". */
export const TARGET_VIEWS: readonly { key: string; label: string; states: readonly PushState[] }[] = [
  { key: '', label: 'All targets', states: [] },
  { key: 'failed', label: 'Failed', states: ['failed'] },
  { key: 'unfinished', label: 'Not finished', states: OPEN_STATES },
  { key: 'applied', label: 'Applied', states: ['applied'] },
  { key: 'delivered', label: 'Delivered', states: ['delivered'] },
  { key: 'pending', label: 'Pending', states: ['pending'] },
  { key: 'waiting', label: 'Waiting', states: ['waiting'] },
  { key: 'superseded', label: 'Superseded', states: ['superseded'] },
  { key: 'cancelled', label: 'Cancelled', states: ['cancelled'] },
];

export const TARGET_PAGE_SIZES = [25, 50, 100] as const;
const DEFAULT_LIMIT = 50;

/**
 * What the push page's target table shows, all of it in the URL (a reload or a shared link shows
 * the same page): the state view, the page size and the page (keyset-query.ts).
 */
export interface TargetQuery extends KeysetPlace {
  view: string;
  limit: number;
}

export const statesOf = (view: string): readonly PushState[] => TARGET_VIEWS.find((v) => v.key === view)?.states ?? [];

export function readTargetQuery(params: URLSearchParams): TargetQuery {
  const view = params.get('state') ?? '';
  const limit = Number(params.get('limit'));
  return {
    view: TARGET_VIEWS.some((v) => v.key === view) ? view : '',
    limit: (TARGET_PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_LIMIT,
    ...readKeysetPlace(params),
  };
}

/** The page's URL query (`?…`, or '' for all targets' first page), the inverse of `readTargetQuery`. */
export function targetQueryString(q: TargetQuery): string {
  const params = new URLSearchParams();
  if (q.view) params.set('state', q.view);
  if (q.limit !== DEFAULT_LIMIT) params.set('limit', String(q.limit));
  writeKeysetPlace(params, q);
  return params.size > 0 ? `?${params}` : '';
}

export const nextTargetPage: (q: TargetQuery, nextCursor: string) => TargetQuery = nextKeysetPage;
export const previousTargetPage: (q: TargetQuery) => TargetQuery = previousKeysetPage;

/** Another view or page size shows its first page (a cursor belongs to the view it came from). */
export const withTargetView = (q: TargetQuery, view: string, limit = q.limit): TargetQuery => ({ view, limit, cursor: null, previous: [] });

/** How many targets the view keeps, from the push's counts. */
export const matchingTargets = (view: string, counts: PushCounts): number => {
  const states = statesOf(view);
  return states.length === 0 ? counts.total : states.reduce((sum, s) => sum + counts[s], 0);
};
