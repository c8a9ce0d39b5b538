import { request } from './http';
import type { NewRule, RuleSet, RuleSetSummary } from './types';

const base = (id: string) => `/api/rule-sets/${encodeURIComponent(id)}`;

export const listRuleSets = async () =>
  (await request<{ ruleSets: RuleSetSummary[] }>('GET', '/api/rule-sets')).ruleSets;

export const getRuleSet = (id: string) => request<RuleSet>('GET', base(id));

export const getRuleSetVersion = (id: string, version: number) =>
  request<RuleSet>('GET', `${base(id)}/versions/${version}`);

export const addRule = (id: string, rule: NewRule, position?: number) =>
  request<RuleSet>('POST', `${base(id)}/rules`, position === undefined ? { rule } : { rule, position });

export const updateRule = (id: string, ruleId: string, rule: NewRule) =>
  request<RuleSet>('PUT', `${base(id)}/rules/${encodeURIComponent(ruleId)}`, { rule });

export const deleteRule = (id: string, ruleId: string) =>
  request<RuleSet>('DELETE', `${base(id)}/rules/${encodeURIComponent(ruleId)}`);

export const reorderRules = (id: string, ruleIds: string[]) =>
  request<RuleSet>('PUT', `${base(id)}/order`, { ruleIds });
