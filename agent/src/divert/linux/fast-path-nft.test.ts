import { entryChanges, removalChanges, tupleKey } from './fast-path-netlink';
import { changedFields, Field, idMapName, tableScript } from './fast-path-nft';
import { FlowKind, TUPLE_WORDS } from './flow-table';

const MARK = 0x5046_0000;

function tuples(words: number[], out: number[]): { input: Uint32Array; output: Uint32Array } {
  const input = new Uint32Array(TUPLE_WORDS * 2);
  const output = new Uint32Array(TUPLE_WORDS * 2);
  input.set(words, TUPLE_WORDS);
  output.set(out, TUPLE_WORDS);
  return { input, output };
}

describe('fast path nftables table and elements', () => {
  test('an entry gets rewrite elements only for the fields that change, then its lookup element, in nft byte order', () => {
    // 198.18.1.2:41053 → 198.18.2.2:53 becomes → 198.18.3.2:5353 (destination address and port).
    const { input, output } = tuples(
      [0xc6120102, 0, 0, 0, 0xc6120202, 0, 0, 0, ((41053 << 16) | 53) >>> 0],
      [0xc6120102, 0, 0, 0, 0xc6120302, 0, 0, 0, ((41053 << 16) | 5353) >>> 0],
    );
    expect(changedFields(false, input, TUPLE_WORDS, output, TUPLE_WORDS)).toBe(Field.DADDR | Field.DPORT);
    const entry = { kind: FlowKind.UDP, id: 7, mark: MARK, input, output, at: TUPLE_WORDS };
    const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
    const changes = entryChanges(entry, 60_000).map((c) => [c.set, hex(c.key), hex(c.data), c.timeoutMs]);
    expect(changes).toEqual([
      ['daddr4', '07004650', 'c6120302', undefined],
      ['dport', '07004650', '14e9', undefined],
      // Concatenated key: each field padded to 4 bytes; the mark in host order.
      ['pre4udp', 'c6120102a05d0000c61202020035' + '0000', '07004650', 60_000],
    ]);
    expect(removalChanges(entry, 'keep').map((c) => [c.set, c.delete])).toEqual([
      ['daddr4', true],
      ['dport', true],
    ]);
    expect(removalChanges(entry, 'delete')[0]).toMatchObject({ set: 'pre4udp', delete: true, destroy: false });
    expect(removalChanges(entry, 'destroy')[0]).toMatchObject({ set: 'pre4udp', delete: true, destroy: true });
    expect(hex(tupleKey(true, Uint32Array.of(0xfd000001, 0, 0, 2, 0xfd000002, 0, 0, 2, (1 << 16) | 2), 0))).toBe(
      'fd000001000000000000000000000002' + '00010000' + 'fd000002000000000000000000000002' + '00020000',
    );
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
});
