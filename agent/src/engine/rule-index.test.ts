import { CompiledRule } from './compile';
import { RuleIndex } from './rule-index';

function rule(outbound: number, protocol: number, localPort: number): CompiledRule {
  return Object.assign(new CompiledRule(), { outbound, protocol, localPort });
}

function candidates(index: RuleIndex, outbound: number, protocol: number, port: number): number[] {
  const list: number[] = [];
  for (let k = index.first(outbound, protocol, port); index.lists[k]! >= 0; k++) list.push(index.lists[k]!);
  return list;
}

describe('RuleIndex', () => {
  it('lists, in rule order, the rules of the direction and protocol that pin this local port or none', () => {
    const index = new RuleIndex([rule(0, 6, 0), rule(0, 6, 80), rule(0, 6, 0), rule(0, 6, 80), rule(0, 6, 81), rule(0, 17, 80), rule(1, 6, 80)]);
    expect(candidates(index, 0, 6, 80)).toEqual([0, 1, 2, 3]);
    expect(candidates(index, 0, 6, 81)).toEqual([0, 2, 4]);
    expect(candidates(index, 0, 6, 82)).toEqual([0, 2]);
    expect(candidates(index, 0, 17, 80)).toEqual([5]);
    expect(candidates(index, 0, 17, 81)).toEqual([]);
    expect(candidates(index, 1, 6, 80)).toEqual([6]);
    expect(candidates(index, 1, 17, 53)).toEqual([]);
  });

  it('without pinned ports lists every rule of the direction and protocol', () => {
    const index = new RuleIndex([rule(0, 6, 0), rule(1, 6, 0), rule(0, 6, 0)]);
    expect(candidates(index, 0, 6, 443)).toEqual([0, 2]);
    expect(candidates(index, 1, 6, 1)).toEqual([1]);
  });
});
