/**
 * Where a keyset-paged table is, kept in the URL with its view (a reload or a shared link shows the
 * same page): the shown page's cursor (none: the first) and the cursors of the pages before it (for
 * "Previous"; the first page's is '').
 */
export interface KeysetPlace {
  cursor: string | null;
  previous: string[];
}

/** Cursors are base64url: no commas in them. */
const CURSOR = /^[A-Za-z0-9_-]*$/;

/** The place from `cursor` and `prev`; a malformed cursor means the first page. */
export function readKeysetPlace(params: URLSearchParams): KeysetPlace {
  const cursor = params.get('cursor');
  const previous = params.get('prev');
  const validCursor = cursor && CURSOR.test(cursor) ? cursor : null;
  return {
    cursor: validCursor,
    // Without a cursor this is the first page: nothing before it.
    previous: validCursor && previous !== null ? previous.split(',').filter((c) => CURSOR.test(c)) : validCursor ? [''] : [],
  };
}

/** The inverse of `readKeysetPlace`: nothing for the first page. */
export function writeKeysetPlace(params: URLSearchParams, place: KeysetPlace): void {
  if (!place.cursor) return;
  params.set('cursor', place.cursor);
  params.set('prev', place.previous.join(','));
}

export const nextKeysetPage = <Q extends KeysetPlace>(q: Q, nextCursor: string): Q =>
  ({ ...q, cursor: nextCursor, previous: [...q.previous, q.cursor ?? ''] });

export function previousKeysetPage<Q extends KeysetPlace>(q: Q): Q {
  if (q.previous.length === 0) return q;
  const cursor = q.previous[q.previous.length - 1] || null;
  return { ...q, cursor, previous: cursor ? q.previous.slice(0, -1) : [] };
}

/** 1-based number of the shown page. */
export const keysetPageNumber = (q: KeysetPlace) => q.previous.length + 1;
