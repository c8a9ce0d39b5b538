import type { Agent } from '@/api/types';
import { parseTags, tagsOf } from './agent-filter';

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
describe('fleet tags', () => {
  it('lists the tags in use and parses typed tag lists', () => {
    expect(tagsOf(fleet)).toEqual({ groups: ['db', 'web'], labels: ['env:prod', 'env:test'] });
    expect(parseTags(' web, db , ,web')).toEqual(['web', 'db']);
  });
});
