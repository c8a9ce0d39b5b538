// The lint module of the shared package has no Node imports, like the address module.
import { covers } from '@portfleet/proto/rules/lint';
import type { Rule, RuleError } from '@/api/types';

/**
 * A shadowed-rule warning in the list's own numbering (from 1). The controller's message counts
 * rules from 0, so the text is made again here from `ruleIndex` and the rule that covers it.
 */
export function shadowMessage(warning: RuleError, rules: readonly Rule[]): string {
  if (warning.code !== 'SHADOWED_RULE' || typeof warning.ruleIndex !== 'number') return warning.message;
  const rule = rules[warning.ruleIndex];
  if (!rule) return warning.message;
  const earlier = rules.findIndex((r, i) => i < warning.ruleIndex && r.enabled && covers(r.selector, rule.selector));
  if (earlier < 0) return 'never matches: an earlier rule matches everything this rule selects';
  const name = rules[earlier]!.description ? ` (${rules[earlier]!.description})` : '';
  return `never matches: rule ${earlier + 1}${name} comes first and matches everything this rule selects`;
}
