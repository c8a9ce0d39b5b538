/**
 * PostgreSQL array literals built here rather than by node-postgres, whose generic serializer
 * (`prepareValue` → `arrayString` → `escapeElement` per element) was the controller's largest
 * per-sample cost after the planner: a batch of 50,000 samples passes 9 arrays of 50,000.
 */

/** `{1,2,3}` for `$n::bigint[]`: the values are safe integers (checked on arrival). */
export function integersLiteral(values: readonly number[]): string {
  return `{${values.join(',')}}`;
}

/** `{…}` for `$n::uuid[]`: ids that came from PostgreSQL's uuid column (hex digits and dashes, nothing to quote). */
export function uuidsLiteral(values: readonly string[]): string {
  return `{${values.join(',')}}`;
}

const quoted = new Map<string, string>();
/** Distinct texts remembered quoted; rule ids repeat across the fleet (the same rule set on every agent). */
const MAX_QUOTED = 100_000;

/** `{"a","b"}` for `$n::text[]`: every element quoted, `"` and `\` escaped. */
export function textsLiteral(values: readonly string[]): string {
  const elements = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    let q = quoted.get(value);
    if (q === undefined) {
      q = `"${value.replace(/["\\]/g, '\\$&')}"`;
      if (quoted.size >= MAX_QUOTED) quoted.clear();
      quoted.set(value, q);
    }
    elements[i] = q;
  }
  return `{${elements.join(',')}}`;
}
