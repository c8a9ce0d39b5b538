import type { Rule, Settings } from '@portfleet/proto';

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface RuleSetDiff {
  ruleSetId: string;
  from: number;
  to: number;
  added: { index: number; rule: Rule }[];
  removed: { index: number; rule: Rule }[];
  changed: { ruleId: string; fromIndex: number; toIndex: number; changes: FieldChange[] }[];
  moved: { ruleId: string; fromIndex: number; toIndex: number }[];
  settings: FieldChange[];
}

export interface DiffSide {
  version: number;
  rules: readonly Rule[];
  settings: Settings | null;
}

/**
 * What changed between two rule lists, rules matched by id. Moved = the fewest shared rules whose
 * relative order changed (outside a longest common subsequence), so inserting a rule above
 * another does not move it and moving one rule to the top moves only that rule.
 */
export function diffRuleSets(ruleSetId: string, from: DiffSide, to: DiffSide): RuleSetDiff {
  const before = new Map(from.rules.map((r, i) => [r.id, i]));
  const after = new Map(to.rules.map((r, i) => [r.id, i]));
  const kept = (rules: readonly Rule[], other: Map<string, number>) => rules.filter((r) => other.has(r.id)).map((r) => r.id);
  const keptBefore = kept(from.rules, after);
  const keptAfter = kept(to.rules, before);
  const stayed = longestCommonSubsequence(keptBefore, keptAfter);

  const diff: RuleSetDiff = { ruleSetId, from: from.version, to: to.version, added: [], removed: [], changed: [], moved: [], settings: [] };
  to.rules.forEach((rule, index) => {
    if (!before.has(rule.id)) diff.added.push({ index, rule });
  });
  from.rules.forEach((rule, index) => {
    if (!after.has(rule.id)) diff.removed.push({ index, rule });
  });
  keptAfter.forEach((id) => {
    const fromIndex = before.get(id)!;
    const toIndex = after.get(id)!;
    const changes = fieldChanges(from.rules[fromIndex], to.rules[toIndex]);
    if (changes.length > 0) diff.changed.push({ ruleId: id, fromIndex, toIndex, changes });
    if (!stayed.has(id)) diff.moved.push({ ruleId: id, fromIndex, toIndex });
  });
  diff.settings = fieldChanges(from.settings ?? {}, to.settings ?? {});
  return diff;
}

function longestCommonSubsequence(a: readonly string[], b: readonly string[]): Set<string> {
  const len = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) len[i]![j] = a[i] === b[j] ? len[i + 1]![j + 1]! + 1 : Math.max(len[i + 1]![j]!, len[i]![j + 1]!);
  }
  const common = new Set<string>();
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] === b[j]) {
      common.add(a[i]!);
      i++;
      j++;
    } else if (len[i + 1]![j]! >= len[i]![j + 1]!) i++;
    else j++;
  }
  return common;
}

/** Leaf differences between two JSON values as dotted paths; absent values are null. */
export function fieldChanges(a: unknown, b: unknown, prefix = ''): FieldChange[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => fieldChanges(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  const from = a ?? null;
  const to = b ?? null;
  return JSON.stringify(from) === JSON.stringify(to) ? [] : [{ field: prefix, from, to }];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
