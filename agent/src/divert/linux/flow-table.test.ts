import { FlowState, FlowTable, TUPLE_WORDS } from './flow-table';

function tuple(n: number): Uint32Array {
  const t = new Uint32Array(TUPLE_WORDS);
  t[0] = 0xc6120102;
  t[4] = 0xc6120202;
  t[8] = ((40000 + n) << 16) | 53;
  return t;
}

describe('FlowTable', () => {
  test('finds what was added by kind and tuple, forgets what was removed, reuses numbers', () => {
    const table = new FlowTable(8);
    const a = table.add(0, tuple(1), 0);
    const b = table.add(2, tuple(1), 0); // same tuple, other kind
    expect(a).toBeGreaterThan(0);
    expect(b).not.toBe(a);
    expect(table.find(0, tuple(1), 0)).toBe(a);
    expect(table.find(2, tuple(1), 0)).toBe(b);
    expect(table.find(0, tuple(2), 0)).toBe(0);
    expect(table.state[a]).toBe(FlowState.Counting);
    table.remove(a);
    expect(table.find(0, tuple(1), 0)).toBe(0);
    expect(table.find(2, tuple(1), 0)).toBe(b);
    expect(table.active).toBe(1);
    expect(table.add(0, tuple(3), 0)).toBe(a);
  });

  test('stays consistent through many adds and removes in a small index (collisions, wrap-around)', () => {
    const table = new FlowTable(64);
    const live = new Map<number, number>();
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 200;
    for (let step = 0; step < 5000; step++) {
      const n = random();
      const e = table.find(0, tuple(n), 0);
      expect(e).toBe(live.get(n) ?? 0);
      if (e !== 0) {
        table.remove(e);
        live.delete(n);
      } else {
        const added = table.add(0, tuple(n), 0);
        if (live.size < 64) {
          expect(added).toBeGreaterThan(0);
          live.set(n, added);
        } else {
          expect(added).toBe(0); // full
        }
      }
    }
    expect(table.active).toBe(live.size);
  });

  test('refuses a capacity beyond the 16 bits entry numbers have', () => {
    expect(() => new FlowTable(0x10000)).toThrow(/capacity/);
  });
});
