import type { Direction, NewRule, Protocol, Reflection, Rule } from '@/api/types';
import { ENDPOINT_FIELDS, type EndpointKey } from './rule-fields';

/** An optional field in the form: its checkbox and the text typed, kept even while unchecked. */
export interface FieldDraft {
  on: boolean;
  value: string;
}

export type EndpointDrafts = Record<EndpointKey, FieldDraft>;

/** The edit form's state: text as typed, turned into a rule only when saved. */
export interface RuleDraft {
  enabled: boolean;
  description: string;
  activityMonitoring: boolean;
  direction: Direction;
  protocol: Protocol;
  selector: EndpointDrafts;
  forwardAs: EndpointDrafts;
  reflection: Reflection;
  clone: boolean;
}

function drafts(values: Partial<Record<EndpointKey, string | number>>): EndpointDrafts {
  const out = {} as EndpointDrafts;
  for (const { key } of ENDPOINT_FIELDS) {
    const value = values[key];
    out[key] = { on: value !== undefined, value: value === undefined ? '' : String(value) };
  }
  return out;
}

export function emptyDraft(): RuleDraft {
  return {
    enabled: true,
    description: '',
    activityMonitoring: true,
    direction: 'inbound',
    protocol: 'tcp',
    selector: drafts({}),
    forwardAs: drafts({}),
    reflection: 'none',
    clone: false,
  };
}

export function draftFromRule(rule: Rule): RuleDraft {
  const { direction, protocol, ...selector } = rule.selector;
  const { reflection, clone, ...forwardAs } = rule.forwardAs;
  return {
    enabled: rule.enabled,
    description: rule.description ?? '',
    activityMonitoring: rule.activityMonitoring,
    direction,
    protocol,
    selector: drafts(selector),
    forwardAs: drafts(forwardAs),
    reflection: reflection ?? 'none',
    clone: clone ?? false,
  };
}

/**
 * Ports go as numbers when they look like one; anything else goes as typed so the controller's
 * validation (the one place rules are judged) names the field and says what is wrong.
 */
function endpointValues(fields: EndpointDrafts): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const { key, kind } of ENDPOINT_FIELDS) {
    const field = fields[key];
    if (!field.on) continue;
    const text = field.value.trim();
    out[key] = kind === 'port' && /^\d+$/.test(text) ? Number(text) : text;
  }
  return out;
}

export function ruleFromDraft(draft: RuleDraft): NewRule {
  const description = draft.description.trim();
  return {
    enabled: draft.enabled,
    ...(description ? { description } : {}),
    activityMonitoring: draft.activityMonitoring,
    selector: { direction: draft.direction, protocol: draft.protocol, ...endpointValues(draft.selector) },
    forwardAs: {
      ...endpointValues(draft.forwardAs),
      ...(draft.reflection !== 'none' ? { reflection: draft.reflection } : {}),
      ...(draft.clone ? { clone: true } : {}),
    },
  } as NewRule;
}

/** The rule as the API wants it back for an update: everything but its id. */
export function withoutId({ id: _id, ...rule }: Rule): NewRule {
  return rule;
}
