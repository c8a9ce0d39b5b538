import type { Agent } from '@/api/types';
import { filterAgents, parseTags, tagsOf } from './agent-filter';

const agent = (name: string, extra: Partial<Agent> = {}): Agent => ({
  id: name, name, hostname: `${name}.lan`, platform: 'linux', version: '1.0.0', online: true, lastSeenAt: null,
  adapters: [], appliedRuleSetId: null, appliedVersion: null, appliedContentHash: null,
  desiredRuleSetId: null, desiredVersion: null, groups: [], labels: [], edition: null, ...extra,
});

const fleet = [
  agent('web-1', { groups: ['web'], labels: ['env:prod'] }),
  agent('web-2', { groups: ['web'], labels: ['env:test'], online: false }),
  agent('db-1', { groups: ['db'], labels: ['env:prod'], desiredRuleSetId: 'rs', desiredVersion: 2, appliedRuleSetId: 'rs', appliedVersion: 1 }),
];
const names = (agents: Agent[]) => agents.map((a) => a.name);

describe('fleet filter', () => {
  it('searches names, hosts, groups and labels, case-insensitively', () => {
    expect(names(filterAgents(fleet, { search: 'WEB' }))).toEqual(['web-1', 'web-2']);
    expect(names(filterAgents(fleet, { search: 'db-1.lan' }))).toEqual(['db-1']);
    expect(names(filterAgents(fleet, { search: 'env:test' }))).toEqual(['web-2']);
  });

  it('combines online, group, label and drift', () => {
    expect(names(filterAgents(fleet, { online: false }))).toEqual(['web-2']);
    expect(names(filterAgents(fleet, { group: 'web', label: 'env:prod' }))).toEqual(['web-1']);
    expect(names(filterAgents(fleet, { drift: true }))).toEqual(['db-1']);
  });

  it('lists the tags in use and parses typed tag lists', () => {
    expect(tagsOf(fleet)).toEqual({ groups: ['db', 'web'], labels: ['env:prod', 'env:test'] });
    expect(parseTags(' web, db , ,web')).toEqual(['web', 'db']);
  });
});
