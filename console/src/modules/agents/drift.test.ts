import type { Agent } from '@/api/types';
import { driftOf } from './drift';

const agent = (fields: Partial<Agent>): Agent => ({
  id: 'a1', name: 'a1', hostname: 'a1', platform: 'linux', version: '0.1.0', online: true, lastSeenAt: null,
  adapters: [], appliedRuleSetId: null, appliedVersion: null, appliedContentHash: null,
  desiredRuleSetId: null, desiredVersion: null, groups: [], labels: [], edition: null, ...fields,
});

describe('driftOf', () => {
  it('is none before any push', () => {
    expect(driftOf(agent({}))).toBe('none');
  });

  it('is in sync when the applied rule set and version are the desired ones', () => {
    expect(driftOf(agent({ appliedRuleSetId: 'rs', appliedVersion: 4, desiredRuleSetId: 'rs', desiredVersion: 4 }))).toBe('in-sync');
  });

  it('is drift when the agent runs another version, another rule set, or nothing yet', () => {
    expect(driftOf(agent({ appliedRuleSetId: 'rs', appliedVersion: 3, desiredRuleSetId: 'rs', desiredVersion: 4 }))).toBe('drift');
    expect(driftOf(agent({ appliedRuleSetId: 'other', appliedVersion: 4, desiredRuleSetId: 'rs', desiredVersion: 4 }))).toBe('drift');
    expect(driftOf(agent({ desiredRuleSetId: 'rs', desiredVersion: 1 }))).toBe('drift');
  });
});

describe('driftOf with the controller verdict', () => {
  it('follows the drift flag when the controller sends one', () => {
    const pushed = { desiredRuleSetId: 'rs', desiredVersion: 2, appliedRuleSetId: 'rs', appliedVersion: 2 };
    expect(driftOf(agent({ ...pushed, drift: true }))).toBe('drift');
    expect(driftOf(agent({ ...pushed, drift: false }))).toBe('in-sync');
  });
});
