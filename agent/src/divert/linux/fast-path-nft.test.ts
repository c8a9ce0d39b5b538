import { BatchWriter, entryChanges, removalChanges, tupleKey } from './fast-path-netlink';
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

  test('an install written in place from the tuples is byte for byte the install built from its changes', () => {
    const kinds = [0, FlowKind.UDP, FlowKind.IPV6, FlowKind.IPV6 | FlowKind.UDP | FlowKind.OUTPUT_HOOK];
    const v6a = [0xfd000001, 0, 0, 2];
    const v6b = [0xfd000003, 0x10, 0, 2];
    for (const kind of kinds) {
      const v6 = (kind & FlowKind.IPV6) !== 0;
      const a = v6 ? v6a : [0xc6120102, 0, 0, 0];
      const b = v6 ? v6b : [0xc6120202, 0, 0, 0];
      const c = v6 ? [0xfd000004, 0, 0, 9] : [0xc6120302, 0, 0, 0];
      // Every combination of changed fields: source/destination address, source/destination port.
      for (let fields = 0; fields < 16; fields++) {
        const { input, output } = tuples(
          [...a, ...b, ((41053 << 16) | 80) >>> 0],
          [...(fields & 1 ? c : a), ...(fields & 2 ? c : b), (((fields & 4 ? 1234 : 41053) << 16) | (fields & 8 ? 8080 : 80)) >>> 0],
        );
        const entry = { kind, id: 300 + fields, mark: MARK, input, output, at: TUPLE_WORDS };
        let seq = 0;
        const inPlace = new BatchWriter(() => ++seq);
        inPlace.begin();
        inPlace.putEntry(entry, 300_000);
        expect(inPlace.end()).toBeGreaterThan(0);
        seq = 0;
        const built = new BatchWriter(() => ++seq);
        built.begin();
        for (const change of entryChanges(entry, 300_000)) built.putChange(change);
        built.end();
        expect(Buffer.from(inPlace.bytes.subarray(0, inPlace.length)).toString('hex')).toBe(Buffer.from(built.bytes.subarray(0, built.length)).toString('hex'));
      }
    }
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
    // TCP FIN and RST are carried like the rest; the kernel notes their entries for the agent.
    expect(script).not.toContain('fin | rst');
    expect(script).toContain('set fins { type mark; flags dynamic;');
    expect(script).toContain('tcp flags & fin != 0 add @fins { meta mark }');
    expect(script).toContain('tcp flags & rst != 0 add @rsts { meta mark }');
  });
});
