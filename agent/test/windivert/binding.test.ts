/**
 * The real koffi binding of WinDivert.dll against the gcc-built double: struct layout, every bound
 * call, batching, blocking receive on a worker thread and the documented error cases.
 */
import { ADDRESS, ADDRESS_BIT, ADDRESS_SIZE, batchFlags, readBits, readIfIdx, readSubIfIdx, readTimestamp } from '../../src/divert/windows/address';
import { WinDivertError, WinDivertLibrary, WINDIVERT } from '../../src/divert/windows/windivert';
import { WinDivertDouble } from './support/double';
import { buildAddress, buildPacket } from './support/packets';

let double: WinDivertDouble;
let lib: WinDivertLibrary;

beforeAll(() => {
  double = WinDivertDouble.build();
  lib = WinDivertLibrary.load({ path: double.libraryPath });
});
afterAll(() => double.dispose());
beforeEach(() => double.reset());

describe('WINDIVERT_ADDRESS layout', () => {
  // Values of WinDivert 2.2's include/windivert.h on x64: INT64 Timestamp; one UINT32 of
  // bit-fields; UINT32 Reserved2; a 64-byte union whose Network member is IfIdx, SubIfIdx.
  const HEADER = { size: 80, timestamp: 0, reserved2: 12, union: 16, ifIdx: 16, subIfIdx: 20 };

  it('has the header sizes and offsets in the double and in the binding', () => {
    expect(double.layout()).toEqual(HEADER);
    expect({
      size: ADDRESS_SIZE,
      timestamp: ADDRESS.TIMESTAMP,
      reserved2: ADDRESS.RESERVED2,
      union: ADDRESS.UNION,
      ifIdx: ADDRESS.IF_IDX,
      subIfIdx: ADDRESS.SUB_IF_IDX,
    }).toEqual(HEADER);
  });

  it('places each bit-field where the compiler does (Layer:8 Event:8 then the flags)', () => {
    expect(double.bitField(0)).toBe(0xff);
    expect(double.bitField(1)).toBe(0xff00);
    const flags = [
      ADDRESS_BIT.SNIFFED,
      ADDRESS_BIT.OUTBOUND,
      ADDRESS_BIT.LOOPBACK,
      ADDRESS_BIT.IMPOSTOR,
      ADDRESS_BIT.IPV6,
      ADDRESS_BIT.IP_CHECKSUM,
      ADDRESS_BIT.TCP_CHECKSUM,
      ADDRESS_BIT.UDP_CHECKSUM,
    ];
    flags.forEach((bit, k) => expect(double.bitField(2 + k)).toBe(bit));
  });
});

describe('WinDivertOpen / parameters / version', () => {
  it('passes filter, layer, priority and flags through', () => {
    const h = lib.open('inbound and tcp.DstPort == 80', WINDIVERT.LAYER_NETWORK, -123, WINDIVERT.FLAG_SNIFF);
    expect(double.lastOpen()).toEqual({ filter: 'inbound and tcp.DstPort == 80', layer: 0, priority: -123, flags: 1 });
    h.close();
    expect(double.closeCount).toBe(1);
  });

  it('reports a failed open with the documented reason', () => {
    double.failOpen(5);
    expect(() => lib.open('true', 0, 0, 0)).toThrow(/ERROR_ACCESS_DENIED/);
    double.failOpen(0);
    try {
      lib.open('true', 0, 0, WINDIVERT.FLAG_SNIFF | WINDIVERT.FLAG_DROP);
      throw new Error('open should fail');
    } catch (e) {
      expect(e).toBeInstanceOf(WinDivertError);
      expect((e as WinDivertError).code).toBe(87);
    }
  });

  it('sets and reads queue parameters within the documented ranges', () => {
    const h = lib.open('true', 0, 0, 0);
    h.setParam(WINDIVERT.PARAM_QUEUE_LENGTH, 8192);
    h.setParam(WINDIVERT.PARAM_QUEUE_TIME, 250);
    h.setParam(WINDIVERT.PARAM_QUEUE_SIZE, 8 << 20);
    expect(h.getParam(WINDIVERT.PARAM_QUEUE_LENGTH)).toBe(8192);
    expect(double.param(WINDIVERT.PARAM_QUEUE_TIME)).toBe(250);
    expect(double.param(WINDIVERT.PARAM_QUEUE_SIZE)).toBe(8 << 20);
    expect(() => h.setParam(WINDIVERT.PARAM_QUEUE_LENGTH, 16385)).toThrow(/ERROR_INVALID_PARAMETER/);
    h.close();
  });

  it('accepts a 2.2+ driver and refuses others with a clear message', () => {
    const h = lib.open('true', 0, 0, 0);
    expect(h.checkVersion()).toEqual({ major: 2, minor: 2 });
    double.setVersion(2, 3);
    expect(h.checkVersion()).toEqual({ major: 2, minor: 3 });
    double.setVersion(2, 1);
    expect(() => h.checkVersion()).toThrow(/WinDivert driver 2\.1 is loaded; the agent needs 2\.2/);
    double.setVersion(1, 4);
    expect(() => h.checkVersion()).toThrow(/driver 1\.4/);
    h.close();
  });
});

describe('WinDivertRecvEx / WinDivertSendEx', () => {
  const p1 = buildPacket({ protocol: 'tcp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 40000, dstPort: 80 });
  const p2 = buildPacket({ protocol: 'udp', src: 'fd00::1', dst: 'fd00::2', srcPort: 5353, dstPort: 53, payload: Buffer.from('hi') });
  const p3 = buildPacket({ protocol: 'tcp', src: '127.0.0.1', dst: '127.0.0.1', srcPort: 40001, dstPort: 80 });

  it('receives a batch packed back to back with one address per packet', async () => {
    const h = lib.open('true', 0, 0, 0);
    double.enqueue(p1, buildAddress({ outbound: false, ifIdx: 12, subIfIdx: 3, timestamp: 1_000_001 }));
    double.enqueue(p2, buildAddress({ outbound: true, ipv6: true, ifIdx: 12 }));
    double.enqueue(p3, buildAddress({ outbound: true, loopback: true, ifIdx: 1 }));
    const packets = new Uint8Array(WINDIVERT.MTU_MAX);
    const addresses = new Uint8Array(WINDIVERT.BATCH_MAX * ADDRESS_SIZE);
    const view = new DataView(addresses.buffer);

    expect(await h.receive(packets, addresses, 255)).toBe(3);
    expect(h.bytesReceived).toBe(p1.length + p2.length + p3.length);
    expect(Buffer.from(packets.subarray(0, h.bytesReceived))).toEqual(Buffer.concat([p1, p2, p3]));
    expect(readIfIdx(view, 0)).toBe(12);
    expect(readSubIfIdx(view, 0)).toBe(3);
    expect(readTimestamp(view, 0)).toBe(1_000_001);
    expect(batchFlags(readBits(view, 0))).toBe(0);
    expect(readBits(view, 1) & ADDRESS_BIT.IPV6).toBeTruthy();
    expect(batchFlags(readBits(view, 1))).toBe(1);
    expect(batchFlags(readBits(view, 2))).toBe(1 | 4);
    expect(double.recvCalls).toBe(1);
    h.close();
  });

  it('takes no more than maxCount, and no more than fits in the buffer', async () => {
    const h = lib.open('true', 0, 0, 0);
    for (let i = 0; i < 5; i++) double.enqueue(p1, buildAddress({ outbound: false }));
    const addresses = new Uint8Array(WINDIVERT.BATCH_MAX * ADDRESS_SIZE);
    expect(await h.receive(new Uint8Array(65575), addresses, 2)).toBe(2);
    expect(await h.receive(new Uint8Array(p1.length * 2 + 10), addresses, 255)).toBe(2);
    expect(double.queued).toBe(1);
    await expect(h.receive(new Uint8Array(10), addresses, 255)).rejects.toMatchObject({ code: 122 });
    h.close();
  });

  it('blocks on a worker thread until a packet arrives, without blocking the event loop', async () => {
    const h = lib.open('true', 0, 0, 0);
    const addresses = new Uint8Array(ADDRESS_SIZE * 4);
    const received = h.receive(new Uint8Array(65575), addresses, 4);
    let settled = false;
    void received.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    double.enqueue(p1, buildAddress({ outbound: false }));
    expect(await received).toBe(1);
    h.close();
  });

  it('wakes a blocked receive on shutdown, drains what is queued, then ends with ERROR_NO_DATA', async () => {
    const h = lib.open('true', 0, 0, 0);
    const addresses = new Uint8Array(ADDRESS_SIZE * 4);
    const blocked = h.receive(new Uint8Array(65575), addresses, 4);
    await new Promise((r) => setTimeout(r, 20));
    h.shutdown(WINDIVERT.SHUTDOWN_RECV);
    await expect(blocked).rejects.toMatchObject({ code: 232 });
    h.close();

    const h2 = lib.open('true', 0, 0, 0);
    double.enqueue(p1, buildAddress({ outbound: false }));
    h2.shutdown(WINDIVERT.SHUTDOWN_RECV);
    expect(await h2.receive(new Uint8Array(65575), addresses, 4)).toBe(1);
    await expect(h2.receive(new Uint8Array(65575), addresses, 4)).rejects.toThrow(/ERROR_NO_DATA/);
    h2.close();
  });

  it('sends a packed batch in one call with each packet’s address', () => {
    const h = lib.open('true', 0, 0, 0);
    const packed = Buffer.concat([p1, p2]);
    const addresses = Buffer.concat([
      buildAddress({ outbound: true, ifIdx: 4 }),
      buildAddress({ outbound: false, ipv6: true, ifIdx: 9, subIfIdx: 2 }),
    ]);
    expect(h.send(packed, packed.length, addresses, 2)).toBe(0);
    expect(double.sendCalls).toBe(1);
    const sent = double.sent();
    expect(sent.map((s) => s.bytes)).toEqual([p1, p2]);
    expect(sent.map((s) => s.address)).toEqual([addresses.subarray(0, 80), addresses.subarray(80)]);
    // A count that does not match the packed packets is refused, as WinDivert does.
    expect(h.send(packed, packed.length, addresses, 1)).toBe(87);
    h.close();
  });

  it('decrements TTL of impostor packets and refuses them at zero (the loop breaker)', () => {
    const h = lib.open('true', 0, 0, 0);
    const pkt = buildPacket({ protocol: 'tcp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 1, dstPort: 2, ttl: 2 });
    expect(h.send(pkt, pkt.length, buildAddress({ outbound: true, impostor: true }), 1)).toBe(0);
    const out = double.sent()[0]!.bytes;
    expect(out[8]).toBe(1);
    // The double keeps the IPv4 header checksum valid: the header sums to 0xffff.
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += out.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff);
    expect(h.send(out, out.length, buildAddress({ outbound: true, impostor: true }), 1)).toBe(1232);
    h.close();
  });
});
