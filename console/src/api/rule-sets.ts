import { download, request } from './http';
import type { NewRule, RuleSet, RuleSetDiff, RuleSetSummary, RuleSetVersionSummary, Settings } from './types';

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

export const createRuleSet = (name: string) => request<RuleSet>('POST', '/api/rule-sets', { name });

export const listVersions = async (id: string) =>
  (await request<{ versions: RuleSetVersionSummary[] }>('GET', `${base(id)}/versions?limit=100`)).versions;

export const diffVersions = (id: string, from: number, to: number) =>
  request<RuleSetDiff>('GET', `${base(id)}/diff?from=${from}&to=${to}`);

export const updateSettings = (id: string, settings: Settings) =>
  request<RuleSet>('PUT', `${base(id)}/settings`, { settings });

/** The rules file's text and the name the controller suggests for it. */
export const exportRuleSet = (id: string, version?: number) =>
  download(`${base(id)}/export${version === undefined ? '' : `?version=${version}`}`);

export const importRuleSet = (id: string, content: string) =>
  request<RuleSet>('POST', `${base(id)}/import`, { content });
