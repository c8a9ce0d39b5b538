import { createHash } from 'node:crypto';
import { canonicalRule, canonicalSettings } from './canonical-rule';
import type { Rule, Settings } from './model';

/**
 * JSON with object keys sorted (by UTF-16 code unit) and undefined members dropped, so the same
 * value always gives the same bytes whatever order its keys were built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object': {
      const json = (value as { toJSON?: () => unknown }).toJSON;
      if (typeof json === 'function') return canonicalJson(json.call(value));
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
      const members = Object.keys(value)
        .sort()
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

/** sha256 (hex) of a rule set's content; controller and agent compute it the same way. */
export function contentHash(rules: readonly Rule[], settings: Settings): string {
  const content = { rules: rules.map((rule) => canonicalRule(rule)), settings: canonicalSettings(settings) };
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}
