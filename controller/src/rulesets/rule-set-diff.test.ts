import type { Rule } from '@portfleet/proto';
import { diffRuleSets, fieldChanges } from './rule-set-diff';

const r = (id: string, localPort: number, extra: Partial<Rule> = {}): Rule => ({
  id,
  enabled: true,
  activityMonitoring: false,
  selector: { direction: 'inbound', protocol: 'tcp', localPort },
  forwardAs: {},
  ...extra,
});
const settings = { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 };

describe('diffRuleSets', () => {
  it('reports added, removed, changed (field level), moved and settings changes', () => {
    const from = { version: 1, rules: [r('a', 80), r('b', 81), r('c', 82), r('d', 83)], settings };
    const to = {
      version: 2,
      rules: [r('c', 82), r('a', 80), r('b', 91, { description: 'x' }), r('e', 84)],
      settings: { ...settings, tcpTimeoutS: 600 },
    };
    const diff = diffRuleSets('set', from, to);
    expect(diff.added).toEqual([{ index: 3, rule: to.rules[3] }]);
    expect(diff.removed).toEqual([{ index: 3, rule: from.rules[3] }]);
    expect(diff.changed).toEqual([
      { ruleId: 'b', fromIndex: 1, toIndex: 2, changes: [{ field: 'description', from: null, to: 'x' }, { field: 'selector.localPort', from: 81, to: 91 }] },
    ]);
    expect(diff.moved).toEqual([{ ruleId: 'c', fromIndex: 2, toIndex: 0 }]);
    expect(diff.settings).toEqual([{ field: 'tcpTimeoutS', from: 300, to: 600 }]);
  });

  it('does not count a rule as moved when one is inserted above it', () => {
    const diff = diffRuleSets('set', { version: 1, rules: [r('a', 80)], settings }, { version: 2, rules: [r('n', 79), r('a', 80)], settings });
    expect(diff.moved).toEqual([]);
    expect(diff.changed).toEqual([]);
    expect(diff.added.map((a) => a.rule.id)).toEqual(['n']);
  });

  it('treats an absent side (nothing applied yet) as every rule added', () => {
    const diff = diffRuleSets('set', { version: 0, rules: [], settings: null }, { version: 3, rules: [r('a', 80)], settings });
    expect(diff.added).toHaveLength(1);
    expect(diff.settings.map((c) => c.field)).toEqual(['applyDelayMs', 'tcpTimeoutS', 'udpTimeoutS']);
  });

  it('compares arrays and scalars as leaves', () => {
    expect(fieldChanges({ x: [1, 2] }, { x: [1, 2] })).toEqual([]);
    expect(fieldChanges({ x: [1] }, { x: [2] })).toEqual([{ field: 'x', from: [1], to: [2] }]);
  });
});
