import { ValidationError } from '../errors/domain-error';
import { isUuid } from '../errors/request-fields';

/** A keyset page request: `after` is the decoded cursor (the last row's sort key), if any. */
export interface PageRequest<K> {
  after?: K;
  limit: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Reads `?limit=&cursor=` (or page_size/page_token): the cursor is opaque base64url JSON of the last key. */
export function pageRequest<K>(limit: unknown, cursor: unknown, isKey: (v: unknown) => v is K, max = MAX_PAGE_SIZE): PageRequest<K> {
  const n = limit === undefined || limit === '' || limit === 0 ? DEFAULT_PAGE_SIZE : Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ValidationError('limit', 'OUT_OF_RANGE', `must be an integer 1-${max}`);
  if (cursor === undefined || cursor === '') return { limit: n };
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!isKey(key)) throw new ValidationError('cursor', 'INVALID_CURSOR', 'is not a cursor this list returned');
  return { after: key, limit: n };
}

/** Fetch `limit + 1` rows; this trims the extra one, makes the cursor from the last kept row and maps the rows. */
export function toPage<R, K, T = R>(rows: R[], limit: number, keyOf: (row: R) => K, map: (row: R) => T = (r) => r as unknown as T): Page<T> {
  const kept = rows.slice(0, limit);
  const more = rows.length > limit;
  return { items: kept.map(map), nextCursor: more ? cursorOf(keyOf(kept[kept.length - 1]!)) : null };
}

/** The opaque cursor of a page whose last row has `key` (what `pageRequest` reads back). */
export function cursorOf<K>(key: K): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Cursor keys made of a time (ISO string) and a row's UUID, the shape most lists sort by. */
export type TimeIdKey = [string, string];
export function isTimeIdKey(v: unknown): v is TimeIdKey {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === 'string' && isUuid(v[1]);
}
export function isNumberKey(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}
