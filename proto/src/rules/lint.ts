import { normalizeAddress, normalizeMac } from './address';
import type { FieldError } from './field-error';
import type { Rule, Selector } from './model';

type MatchKey = Exclude<keyof Selector, 'direction' | 'protocol'>;
const MATCH_KEYS: readonly MatchKey[] = ['localPort', 'remotePort', 'localAddress', 'remoteAddress', 'localMac', 'remoteMac', 'adapter'];

/**
 * Warnings, not errors: an enabled rule that can never match because an earlier enabled rule
 * catches everything it would (first match wins). DNS names are compared as text — two names
 * resolving to the same address are not detected, nor is a name that covers a literal.
 */
export function lintRules(rules: readonly Rule[]): FieldError[] {
  const warnings: FieldError[] = [];
  rules.forEach((rule, index) => {
    if (!rule.enabled) return;
    const earlier = rules.findIndex((candidate, i) => i < index && candidate.enabled && covers(candidate.selector, rule.selector));
    if (earlier < 0) return;
    warnings.push({
      field: 'selector',
      code: 'SHADOWED_RULE',
      message: `never matches: rule ${earlier} comes first and matches everything this rule selects`,
      ruleIndex: index,
      ruleId: rule.id,
    });
  });
  return warnings;
}

/** Whether every conversation `later` selects is also selected by `earlier`. */
export function covers(earlier: Selector, later: Selector): boolean {
  if (earlier.direction !== later.direction || earlier.protocol !== later.protocol) return false;
  return MATCH_KEYS.every((key) => earlier[key] === undefined || (later[key] !== undefined && same(key, earlier[key], later[key])));
}

function same(key: MatchKey, a: string | number, b: string | number): boolean {
  if (key === 'localAddress' || key === 'remoteAddress') return normalizeAddress(String(a)) === normalizeAddress(String(b));
  if (key === 'localMac' || key === 'remoteMac') return (normalizeMac(String(a)) ?? a) === (normalizeMac(String(b)) ?? b);
  return a === b;
}
