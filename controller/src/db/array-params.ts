import { isUuid } from '../errors/request-fields';

/**
 * Array parameters as PostgreSQL's array text (`{a,b,c}`), for `${uuidArray(ids)}::uuid[]`.
 * Given a JS array, Prisma and node-postgres write that text themselves, one quoted and escaped
 * element at a time: ~20 ms of the event loop for a push's 10,000 agent ids, per statement. Uuids
 * and integers need no quoting, so here it is one join.
 */
export function uuidArray(ids: readonly string[]): string {
  // A stray comma or brace would split or end the literal: only uuids go in.
  for (const id of ids) if (!isUuid(id)) throw new TypeError(`not a uuid: ${JSON.stringify(id)}`);
  return `{${ids.join(',')}}`;
}

export function intArray(values: readonly number[]): string {
  for (const v of values) if (!Number.isSafeInteger(v)) throw new TypeError(`not an integer: ${v}`);
  return `{${values.join(',')}}`;
}
