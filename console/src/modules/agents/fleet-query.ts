import { agentFilterParams } from '@/api/agents';
import type { AgentFilter } from '@/api/types';

export type FleetFilter = AgentFilter;

export const PAGE_SIZES = [25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 50;

/**
 * What the fleet page shows, all of it in the URL so a reload or a shared link shows the same
 * view: the server-side filter, the page size, the cursor of the shown page (none: the first) and
 * the cursors of the pages before it (for "Previous"; the first page's is '').
 */
export interface FleetQuery {
  filter: FleetFilter;
  limit: number;
  cursor: string | null;
  previous: string[];
}

const bool = (value: string | null) => (value === 'true' ? true : value === 'false' ? false : undefined);
/** Cursors are base64url: no commas in them. */
const CURSOR = /^[A-Za-z0-9_-]*$/;

export function readFleetQuery(params: URLSearchParams): FleetQuery {
  const limit = Number(params.get('limit'));
  const cursor = params.get('cursor');
  const previous = params.get('prev');
  const filter: FleetFilter = {
    search: params.get('search') || undefined,
    online: bool(params.get('online')),
    group: params.get('group') || undefined,
    label: params.get('label') || undefined,
    drift: bool(params.get('drift')),
  };
  const validCursor = cursor && CURSOR.test(cursor) ? cursor : null;
  return {
    filter: clean(filter),
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : DEFAULT_PAGE_SIZE,
    cursor: validCursor,
    // Without a cursor this is the first page: nothing before it.
    previous: validCursor && previous !== null ? previous.split(',').filter((c) => CURSOR.test(c)) : validCursor ? [''] : [],
  };
}

/** The page's URL query (`?…`, or '' for the plain first page), the inverse of `readFleetQuery`. */
export function fleetQueryString(q: FleetQuery): string {
  const params = agentFilterParams(q.filter);
  if (q.limit !== DEFAULT_PAGE_SIZE) params.set('limit', String(q.limit));
  if (q.cursor) {
    params.set('cursor', q.cursor);
    params.set('prev', q.previous.join(','));
  }
  return params.size > 0 ? `?${params}` : '';
}

export function nextPage(q: FleetQuery, nextCursor: string): FleetQuery {
  return { ...q, cursor: nextCursor, previous: [...q.previous, q.cursor ?? ''] };
}

export function previousPage(q: FleetQuery): FleetQuery {
  if (q.previous.length === 0) return q;
  const cursor = q.previous[q.previous.length - 1] || null;
  return { ...q, cursor, previous: cursor ? q.previous.slice(0, -1) : [] };
}

/** Another filter or page size shows its first page (a cursor belongs to the filter it came from). */
export function withFilter(q: FleetQuery, filter: FleetFilter, limit = q.limit): FleetQuery {
  return { filter: clean(filter), limit, cursor: null, previous: [] };
}

/** 1-based number of the shown page. */
export const pageNumber = (q: FleetQuery) => q.previous.length + 1;

export const hasFilter = (filter: FleetFilter) => agentFilterParams(filter).size > 0;

function clean(filter: FleetFilter): FleetFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== '')) as FleetFilter;
}
