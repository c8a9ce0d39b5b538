/**
 * SPEC §3 as data, and the one check of a rule list against an edition. The controller runs it
 * on every edit and push, the agent again on every rule set it applies.
 */
import * as pb from '../gen/portfleet/v1/rules';
import type { FieldError } from '../rules/field-error';
import type { Rule } from '../rules/model';

export type Edition = 'trial' | 'basic' | 'pro' | 'ultimate';

export interface EditionPolicy {
  maxRules: number;
  descriptions: boolean;
  ipAddresses: boolean;
  macAddresses: boolean;
  adapters: boolean;
  cloneAndReflection: boolean;
  importExport: boolean;
  /** The console shows a banner. */
  watermark: boolean;
  /** How long a license of this edition runs; null = unlimited. */
  durationDays: number | null;
  /** null = no price (trial, and basic which is free with a free serial key). */
  priceUsd: number | null;
}

export type Feature = Exclude<keyof EditionPolicy, 'maxRules' | 'watermark' | 'durationDays' | 'priceUsd'>;

export const EDITION_LIST: readonly Edition[] = ['trial', 'basic', 'pro', 'ultimate'];

export const EDITION_NAMES: Record<Edition, string> = { trial: 'Trial', basic: 'Basic', pro: 'Pro', ultimate: 'Ultimate' };

export const EDITIONS: Record<Edition, EditionPolicy> = {
  trial: { maxRules: 3, descriptions: true, ipAddresses: true, macAddresses: true, adapters: true, cloneAndReflection: true, importExport: true, watermark: true, durationDays: 30, priceUsd: null },
  basic: { maxRules: 3, descriptions: false, ipAddresses: false, macAddresses: false, adapters: false, cloneAndReflection: false, importExport: false, watermark: true, durationDays: null, priceUsd: null },
  pro: { maxRules: 10, descriptions: true, ipAddresses: true, macAddresses: false, adapters: false, cloneAndReflection: false, importExport: true, watermark: false, durationDays: null, priceUsd: 14.95 },
  ultimate: { maxRules: 50, descriptions: true, ipAddresses: true, macAddresses: true, adapters: true, cloneAndReflection: true, importExport: true, watermark: false, durationDays: null, priceUsd: 19.95 },
};

export const FEATURE_NAMES: Record<Feature, string> = {
  descriptions: 'rule descriptions',
  ipAddresses: 'IP address select/rewrite',
  macAddresses: 'MAC address select/rewrite',
  adapters: 'adapter select/rewrite',
  cloneAndReflection: 'traffic cloning and reflection',
  importExport: 'import/export of rules',
};

/** Which feature each rule field needs, when it is set to something other than its default. */
const FIELD_FEATURES: readonly { field: string; feature: Feature; isUsed: (rule: Rule) => boolean }[] = [
  { field: 'description', feature: 'descriptions', isUsed: (r) => (r.description ?? '') !== '' },
  { field: 'selector.localAddress', feature: 'ipAddresses', isUsed: (r) => r.selector.localAddress !== undefined },
  { field: 'selector.remoteAddress', feature: 'ipAddresses', isUsed: (r) => r.selector.remoteAddress !== undefined },
  { field: 'selector.localMac', feature: 'macAddresses', isUsed: (r) => r.selector.localMac !== undefined },
  { field: 'selector.remoteMac', feature: 'macAddresses', isUsed: (r) => r.selector.remoteMac !== undefined },
  { field: 'selector.adapter', feature: 'adapters', isUsed: (r) => r.selector.adapter !== undefined },
  { field: 'forwardAs.localAddress', feature: 'ipAddresses', isUsed: (r) => r.forwardAs.localAddress !== undefined },
  { field: 'forwardAs.remoteAddress', feature: 'ipAddresses', isUsed: (r) => r.forwardAs.remoteAddress !== undefined },
  { field: 'forwardAs.localMac', feature: 'macAddresses', isUsed: (r) => r.forwardAs.localMac !== undefined },
  { field: 'forwardAs.remoteMac', feature: 'macAddresses', isUsed: (r) => r.forwardAs.remoteMac !== undefined },
  { field: 'forwardAs.adapter', feature: 'adapters', isUsed: (r) => r.forwardAs.adapter !== undefined },
  { field: 'forwardAs.reflection', feature: 'cloneAndReflection', isUsed: (r) => (r.forwardAs.reflection ?? 'none') !== 'none' },
  { field: 'forwardAs.clone', feature: 'cloneAndReflection', isUsed: (r) => r.forwardAs.clone === true },
];

/**
 * Every way `rules` exceeds `edition`. The limit counts all rules, enabled or not: a disabled rule
 * is one click from running, and the table limits "rules per host". Features are checked on
 * disabled rules too, for the same reason.
 */
export function checkEdition(edition: Edition, rules: readonly Rule[]): FieldError[] {
  const policy = EDITIONS[edition];
  const errors: FieldError[] = [];
  if (rules.length > policy.maxRules) {
    errors.push({
      field: '',
      code: 'RULE_LIMIT_EXCEEDED',
      message: `the ${EDITION_NAMES[edition]} edition allows ${policy.maxRules} rules per host, enabled or not; this list has ${rules.length}${upgradeHint((p) => p.maxRules >= rules.length)}`,
      ruleIndex: policy.maxRules,
      ruleId: rules[policy.maxRules]!.id,
    });
  }
  rules.forEach((rule, ruleIndex) => {
    for (const { field, feature, isUsed } of FIELD_FEATURES) {
      if (policy[feature] || !isUsed(rule)) continue;
      errors.push({ field, code: 'FEATURE_NOT_IN_EDITION', message: featureMessage(edition, feature), ruleIndex, ruleId: rule.id });
    }
  });
  return errors;
}

/** Import/export of rule files; an empty list when the edition has it. */
export function checkImportExport(edition: Edition): FieldError[] {
  if (EDITIONS[edition].importExport) return [];
  return [{ field: '', code: 'FEATURE_NOT_IN_EDITION', message: featureMessage(edition, 'importExport') }];
}

/** When a license of `edition` starting at `startMs` ends; null when it does not. */
export function editionExpiresAtMs(edition: Edition, startMs: number): number | null {
  const days = EDITIONS[edition].durationDays;
  return days === null ? null : startMs + days * 86_400_000;
}

function featureMessage(edition: Edition, feature: Feature): string {
  return `${FEATURE_NAMES[feature]}: not included in the ${EDITION_NAMES[edition]} edition${upgradeHint((p) => p[feature])}`;
}

/** Names the paid editions that would allow it (the trial is not something to upgrade to). */
function upgradeHint(allows: (policy: EditionPolicy) => boolean): string {
  const editions = EDITION_LIST.filter((e) => e !== 'trial' && allows(EDITIONS[e])).map((e) => EDITION_NAMES[e]);
  return editions.length === 0 ? '' : ` (available in ${editions.join(' or ')})`;
}

const EDITION_TO_WIRE: Record<Edition, pb.Edition> = {
  trial: pb.Edition.EDITION_TRIAL,
  basic: pb.Edition.EDITION_BASIC,
  pro: pb.Edition.EDITION_PRO,
  ultimate: pb.Edition.EDITION_ULTIMATE,
};

export function editionToWire(edition: Edition): pb.Edition {
  return EDITION_TO_WIRE[edition];
}

/** undefined for EDITION_UNSPECIFIED and values this build does not know. */
export function editionFromWire(edition: pb.Edition): Edition | undefined {
  return EDITION_LIST.find((e) => EDITION_TO_WIRE[e] === edition);
}

export function isEdition(value: unknown): value is Edition {
  return EDITION_LIST.includes(value as Edition);
}
