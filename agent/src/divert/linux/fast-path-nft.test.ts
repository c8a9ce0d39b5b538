import { addLines, addressText, changedFields, deleteLines, Field, idMapName, readCounters, tableScript } from './fast-path-nft';
import { FlowKind, TUPLE_WORDS } from './flow-table';

const MARK = 0x5046_0000;

function tuples(words: number[], out: number[]): { input: Uint32Array; output: Uint32Array } {
  const input = new Uint32Array(TUPLE_WORDS * 2);
  const output = new Uint32Array(TUPLE_WORDS * 2);
  input.set(words, TUPLE_WORDS);
  output.set(out, TUPLE_WORDS);
  return { input, output };
}

describe('fast path nftables text', () => {
  test('addresses as nft reads them', () => {
    expect(addressText(false, Uint32Array.of(0xc6120102), 0)).toBe('198.18.1.2');
    expect(addressText(true, Uint32Array.of(0xfd000001, 0, 0, 2), 0)).toBe('fd00:1:0:0:0:0:0:2');
  });

  test('an entry gets rewrite elements only for the fields that change, then its lookup element', () => {
    // 198.18.1.2:41053 → 198.18.2.2:53 becomes → 198.18.3.2:5353 (destination address and port).
    const { input, output } = tuples(
      [0xc6120102, 0, 0, 0, 0xc6120202, 0, 0, 0, ((41053 << 16) | 53) >>> 0],
      [0xc6120102, 0, 0, 0, 0xc6120302, 0, 0, 0, ((41053 << 16) | 5353) >>> 0],
    );
    expect(changedFields(false, input, TUPLE_WORDS, output, TUPLE_WORDS)).toBe(Field.DADDR | Field.DPORT);
    const entry = { kind: FlowKind.UDP, id: 7, mark: MARK, input, output, at: TUPLE_WORDS };
    expect(addLines(entry, 60)).toEqual([
      'add element inet portfleet_fast daddr4 { 0x50460007 : 198.18.3.2 }',
      'add element inet portfleet_fast dport { 0x50460007 : 5353 }',
      'add element inet portfleet_fast pre4udp { 198.18.1.2 . 41053 . 198.18.2.2 . 53 timeout 60s expires 60s : 0x50460007 }',
    ]);
    expect(deleteLines(entry, false)).toEqual(['delete element inet portfleet_fast daddr4 { 0x50460007 }', 'delete element inet portfleet_fast dport { 0x50460007 }']);
    expect(deleteLines(entry, true)[0]).toBe('delete element inet portfleet_fast pre4udp { 198.18.1.2 . 41053 . 198.18.2.2 . 53 }');
  });

  test('map names by hook, family and protocol; the table has all of them', () => {
    expect(idMapName(0)).toBe('pre4tcp');
    expect(idMapName(FlowKind.OUTPUT_HOOK | FlowKind.IPV6 | FlowKind.UDP)).toBe('out6udp');
    const script = tableScript(MARK, 100);
    for (const name of ['pre4tcp', 'pre4udp', 'pre6tcp', 'pre6udp', 'out4tcp', 'out4udp', 'out6tcp', 'out6udp']) {
      expect(script).toContain(`map ${name} {`);
      expect(script).toMatch(new RegExp(`map @${name} jump rewrite`));
    }
    expect(script).toContain('priority -250');
  });

  test('counters are read per entry number from the lookup maps only', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { map: { name: 'pre4udp', elem: [[{ elem: { val: { concat: ['198.18.1.2', 1, '198.18.2.2', 53] }, counter: { packets: 25, bytes: 1075 } } }, MARK | 7]] } },
        { map: { name: 'dport', elem: [[MARK | 7, 5353]] } },
        { map: { name: 'out4udp' } },
      ],
    });
    const seen: number[][] = [];
    readCounters(json, (id, packets, bytes) => seen.push([id, packets, bytes]));
    expect(seen).toEqual([[7, 25, 1075]]);
  });
});
