import { agentFilterParams } from '@/api/agents';
import type { AgentFilter } from '@/api/types';
import { keysetPageNumber, nextKeysetPage, previousKeysetPage, readKeysetPlace, writeKeysetPlace, type KeysetPlace } from '@/ui/keyset-query';

export type FleetFilter = AgentFilter;

export const PAGE_SIZES = [25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 50;

/**
 * What the fleet page shows, all of it in the URL so a reload or a shared link shows the same
 * view: the server-side filter, the page size and the page (keyset-query.ts).
 */
export interface FleetQuery extends KeysetPlace {
  filter: FleetFilter;
  limit: number;
}

const bool = (value: string | null) => (value === 'true' ? true : value === 'false' ? false : undefined);

export function readFleetQuery(params: URLSearchParams): FleetQuery {
  const limit = Number(params.get('limit'));
  const filter: FleetFilter = {
    search: params.get('search') || undefined,
    online: bool(params.get('online')),
    group: params.get('group') || undefined,
    label: params.get('label') || undefined,
    drift: bool(params.get('drift')),
  };
  return {
    filter: clean(filter),
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE,
    ...readKeysetPlace(params),
  };
}

/** The page's URL query (`?…`, or '' for the plain first page), the inverse of `readFleetQuery`. */
export function fleetQueryString(q: FleetQuery): string {
  const params = agentFilterParams(q.filter);
  if (q.limit !== DEFAULT_PAGE_SIZE) params.set('limit', String(q.limit));
  writeKeysetPlace(params, q);
  return params.size > 0 ? `?${params}` : '';
}

export const nextPage: (q: FleetQuery, nextCursor: string) => FleetQuery = nextKeysetPage;
export const previousPage: (q: FleetQuery) => FleetQuery = previousKeysetPage;

/** Another filter or page size shows its first page (a cursor belongs to the filter it came from). */
export function withFilter(q: FleetQuery, filter: FleetFilter, limit = q.limit): FleetQuery {
  return { filter: clean(filter), limit, cursor: null, previous: [] };
}

export const pageNumber = keysetPageNumber;

export const hasFilter = (filter: FleetFilter) => agentFilterParams(filter).size > 0;

function clean(filter: FleetFilter): FleetFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== '')) as FleetFilter;
}
