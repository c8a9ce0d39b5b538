import { lintRules, type FieldError, type Rule, type Settings } from '@portfleet/proto';
import type { RuleSet, RuleSetVersion } from '../generated/prisma/client';

/** The API shape of one version of a rule set (docs/http-api.md `RuleSet`). */
export interface RuleSetView {
  id: string;
  name: string;
  version: number;
  rules: Rule[];
  settings: Settings;
  contentHash: string;
  createdAt: string;
  warnings: FieldError[];
}

export function ruleSetView(set: RuleSet, version: RuleSetVersion): RuleSetView {
  const rules = version.rules as unknown as Rule[];
  return {
    id: set.id,
    name: set.name,
    version: version.version,
    rules,
    settings: version.settings as unknown as Settings,
    contentHash: version.contentHash,
    createdAt: version.createdAt.toISOString(),
    warnings: lintRules(rules),
  };
}
