/**
 * The packet view against literal packets (checked with tshark when they were made): parse gives
 * the offsets and fields, build gives back the same bytes.
 */
import { buildPacket, fromHex } from './build';
import { PacketView, ParseStatus } from './view';

// IPv4 (IHL 6: options NOP NOP NOP EOL), TCP SYN 192.0.2.1:1234 → 198.51.100.2:80, payload "hi".
const V4_TCP_OPTIONS = '4600002e123440004006395ec0000201c63364020101010004d2005001020304000000005002ffff521800006869';
// IPv6 2001:db8::1 → ::2, hop-by-hop and destination-options headers, UDP 53 → 5353, payload abcd.
const V6_UDP_EXT =
  '60000000001a004020010db800000000000000000000000120010db80000000000000000000000023c000104000000001100010400000000003514e9000ae379abcd';
// Ethernet 02:..:01 → 02:..:02, IPv4 UDP 5000 → 6000 without checksum, payload 010203.
const L2_V4_UDP = '02000000000202000000000108004500001f12344000401114980a0000010a00000213881770000b0000010203';

function parse(hex: string, layer2 = false): PacketView {
  const pv = new PacketView();
  const bytes = fromHex(hex);
  pv.parse(bytes, 0, bytes.length, layer2);
  return pv;
}

describe('PacketView', () => {
  it('parses IPv4 with options and TCP', () => {
    const pv = parse(V4_TCP_OPTIONS);
    expect(pv).toMatchObject({ status: ParseStatus.Ok, family: 4, l2: -1, l3: 0, src: 12, dst: 16, l4: 24, l4Length: 22, protocol: 6 });
    expect([pv.srcPort, pv.dstPort, pv.checksum]).toEqual([1234, 80, 24 + 16]);
  });

  it('builds the same IPv4 packet', () => {
    const built = buildPacket({ protocol: 'tcp', src: '192.0.2.1', dst: '198.51.100.2', srcPort: 1234, dstPort: 80, ipv4Options: Uint8Array.of(1, 1, 1, 0), payload: new TextEncoder().encode('hi') });
    expect(built).toEqual(fromHex(V4_TCP_OPTIONS));
  });

  it('walks IPv6 extension headers to UDP', () => {
    const pv = parse(V6_UDP_EXT);
    expect(pv).toMatchObject({ status: ParseStatus.Ok, family: 6, src: 8, dst: 24, l4: 56, l4Length: 10, protocol: 17, srcPort: 53, dstPort: 5353, checksum: 62 });
    const built = buildPacket({
      protocol: 'udp', src: '2001:db8::1', dst: '2001:db8::2', srcPort: 53, dstPort: 5353, payload: Uint8Array.of(0xab, 0xcd),
      ipv6Extensions: [{ type: 0, body: Uint8Array.of(1, 4, 0, 0, 0, 0) }, { type: 60, body: Uint8Array.of(1, 4, 0, 0, 0, 0) }],
    });
    expect(built).toEqual(fromHex(V6_UDP_EXT));
  });

  it('parses an Ethernet frame and a UDP datagram without checksum', () => {
    const pv = parse(L2_V4_UDP, true);
    expect(pv).toMatchObject({ status: ParseStatus.Ok, l2: 0, l3: 14, family: 4, l4: 34, srcPort: 5000, dstPort: 6000, checksum: 40 });
  });

  it('skips up to two VLAN tags', () => {
    const frame = fromHex(L2_V4_UDP);
    const tagged = new Uint8Array(frame.length + 8);
    tagged.set(frame.subarray(0, 12));
    tagged.set(fromHex('8100000a 81000014'), 12);
    tagged.set(frame.subarray(12), 20);
    const pv = new PacketView();
    expect(pv.parse(tagged, 0, tagged.length, true)).toBe(ParseStatus.Ok);
    expect([pv.l3, pv.srcPort]).toEqual([22, 5000]);
  });

  it('ignores link padding after the IPv4 total length', () => {
    const padded = fromHex(V4_TCP_OPTIONS + '000000000000');
    const pv = new PacketView();
    expect(pv.parse(padded, 0, padded.length, false)).toBe(ParseStatus.Ok);
    expect(pv.l4Length).toBe(22);
  });

  it('reports non-transport traffic as not ours', () => {
    const arp = fromHex('ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002');
    expect(new PacketView().parse(arp, 0, arp.length, true)).toBe(ParseStatus.NotTransport);
    const icmp = fromHex(V4_TCP_OPTIONS);
    icmp[9] = 1;
    expect(new PacketView().parse(icmp, 0, icmp.length, false)).toBe(ParseStatus.NotTransport);
    const esp = fromHex(V6_UDP_EXT);
    esp[6] = 50;
    expect(new PacketView().parse(esp, 0, esp.length, false)).toBe(ParseStatus.NotTransport);
  });

  it('reports IPv4 fragments (more-fragments flag or an offset)', () => {
    for (const flags of ['2000', '0001', '20b9']) {
      const frag = fromHex(V4_TCP_OPTIONS);
      frag.set(fromHex(flags), 6);
      expect(new PacketView().parse(frag, 0, frag.length, false)).toBe(ParseStatus.Fragment);
    }
  });

  it('reports IPv6 fragments but parses through an atomic fragment header', () => {
    // next header 44 (fragment), whose next header is UDP (17)
    const build = (offsetFlags: string) => {
      const udp = fromHex('0035 14e9 000e 0000 0102 0304 0506');
      const head = fromHex('60000000' + '0016' + '2c40' + '20010db8000000000000000000000001' + '20010db8000000000000000000000002');
      const frag = fromHex('1100' + offsetFlags + '12345678');
      const bytes = new Uint8Array(head.length + frag.length + udp.length);
      bytes.set(head);
      bytes.set(frag, 40);
      bytes.set(udp, 48);
      return bytes;
    };
    expect(new PacketView().parse(build('0000'), 0, 62, false)).toBe(ParseStatus.Ok);
    expect(new PacketView().parse(build('0001'), 0, 62, false)).toBe(ParseStatus.Fragment);
    expect(new PacketView().parse(build('0008'), 0, 62, false)).toBe(ParseStatus.Fragment);
  });

  it('refuses an IPv6 routing header with segments left (the checksum covers another address)', () => {
    const head = fromHex('60000000' + '0020' + '2b40' + '20010db8000000000000000000000001' + '20010db8000000000000000000000002');
    const routing = fromHex('1102 0001 00000000 20010db8000000000000000000000003');
    const udp = fromHex('0035 14e9 0008 0000');
    const bytes = new Uint8Array(40 + 24 + 8);
    bytes.set(head);
    bytes.set(routing, 40);
    bytes.set(udp, 64);
    expect(new PacketView().parse(bytes, 0, bytes.length, false)).toBe(ParseStatus.Unsupported);
    bytes[43] = 0; // no segments left: the destination is final
    expect(new PacketView().parse(bytes, 0, bytes.length, false)).toBe(ParseStatus.Ok);
  });

  it.each([
    ['empty', '', false],
    ['short Ethernet', '0200000000020200', true],
    ['bad version', '5500001c00000000401100000a0000010a000002', false],
    ['IHL below 5', '4400001c00000000401100000a0000010a000002', false],
    ['total length beyond the bytes', V4_TCP_OPTIONS.slice(0, -4), false],
    ['TCP data offset below 5', V4_TCP_OPTIONS.replace('5002ffff', '4002ffff'), false],
    ['TCP data offset beyond the segment', V4_TCP_OPTIONS.replace('5002ffff', 'f002ffff'), false],
    ['UDP length beyond the datagram', L2_V4_UDP.replace('000b0000', '00ff0000'), true],
    ['UDP length below 8', L2_V4_UDP.replace('000b0000', '00070000'), true],
    ['IPv6 payload beyond the bytes', V6_UDP_EXT.slice(0, -2), false],
    ['IPv6 extension beyond the payload', V6_UDP_EXT.replace('3c000104', '3c050104'), false],
  ])('reports %s as malformed', (_what, hex, layer2) => {
    const bytes = fromHex(hex);
    expect(new PacketView().parse(bytes, 0, bytes.length, layer2)).toBe(ParseStatus.Malformed);
  });
});
