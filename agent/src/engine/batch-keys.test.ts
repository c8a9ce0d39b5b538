/**
 * The quick IPv4 parse of the first pass against the full parser (PacketView), over generated
 * packets with corrupted header bytes, cut lengths, options, VLAN tags and IPv6: whatever the
 * quick parse takes, the full parser reads the same way, and it takes every plain IPv4 TCP/UDP
 * packet the full parser accepts.
 */
import fc from 'fast-check';
import { buildPacket } from '../packet/build';
import { PacketView, ParseStatus } from '../packet/view';
import { PacketBatch, PacketFlag } from './batch';
import { BatchKeys, BK } from './batch-keys';
import { ConversationTable, hashKey, K, kindOf, Meta, TAG } from './conversations';

const packetArb = fc
  .record({
    family: fc.constantFrom(4, 6),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const),
    options: fc.constantFrom(0, 4, 8),
    layer2: fc.boolean(),
    vlan: fc.boolean(),
    outbound: fc.boolean(),
    payload: fc.uint8Array({ maxLength: 24 }),
    edits: fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { maxLength: 3 }),
    cut: fc.nat(100),
  })
  .map((c) => {
    let bytes = buildPacket({
      protocol: c.protocol,
      src: c.family === 4 ? '192.0.2.1' : '2001:db8::1',
      dst: c.family === 4 ? '198.51.100.7' : '2001:db8::7',
      srcPort: 40000,
      dstPort: 443,
      payload: c.payload,
      ipv4Options: c.family === 4 ? new Uint8Array(c.options).fill(1) : undefined,
      ethernet: c.layer2 ? { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } : undefined,
    });
    if (c.layer2 && c.vlan) bytes = Uint8Array.from([...bytes.subarray(0, 12), 0x81, 0x00, 0x00, 0x05, ...bytes.subarray(12)]);
    for (const [at, value] of c.edits) if (at < bytes.length) bytes[at] = value;
    return { bytes: bytes.subarray(0, Math.max(0, bytes.length - (c.cut > 90 ? c.cut - 90 : 0))), layer2: c.layer2, outbound: c.outbound };
  });

describe('BatchKeys', () => {
  it('takes exactly the plain IPv4 TCP/UDP packets the full parser accepts, with the same fields', () => {
    const keys = new BatchKeys();
    const table = new ConversationTable(1000, () => {});
    const pv = new PacketView();
    const key = new Uint32Array(16);
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 8 }), (packets) => {
        const batch = new PacketBatch(8);
        for (const p of packets) batch.push(p.bytes, (p.layer2 ? PacketFlag.Layer2 : 0) | (p.outbound ? PacketFlag.Outbound : 0), 1);
        keys.fill(batch, table.scale);
        packets.forEach((p, i) => {
          const status = pv.parseView(batch.view, batch.offset[i]!, batch.length[i]!, p.layer2);
          const untagged = !p.layer2 || pv.l3 === batch.offset[i]! + 14;
          const plain = status === ParseStatus.Ok && pv.family === 4 && untagged;
          const at = i * BK.WORDS;
          expect([keys.cols[at + BK.FLAGS], keys.cols[at + BK.LENGTH]]).toEqual([batch.flags[i], batch.length[i]]);
          expect(keys.cols[at + BK.L3] !== BK.NONE).toBe(plain);
          if (!plain) return;
          expect([keys.cols[at + BK.L3], keys.cols[at + BK.L4], (keys.cols[at + BK.KIND]! & TAG.UDP) !== 0 ? 17 : 6]).toEqual([pv.l3, pv.l4, pv.protocol]);
          key[K.META] = Meta.USED | (p.outbound ? Meta.OUTBOUND : 0) | pv.protocol;
          key[K.SRC] = batch.view.getUint32(pv.src);
          key[K.DST] = batch.view.getUint32(pv.dst);
          key[K.PORTS] = ((pv.srcPort << 16) | pv.dstPort) >>> 0;
          expect([keys.cols[at + BK.KIND], keys.cols[at + BK.SRC], keys.cols[at + BK.DST], keys.cols[at + BK.PORTS], keys.cols[at + BK.HOME]]).toEqual([
            kindOf(key[0]!),
            key[K.SRC],
            key[K.DST],
            key[K.PORTS],
            table.home(hashKey(key, 0)),
          ]);
        });
      }),
      { numRuns: 500 },
    );
  });
});
