/**
 * The Windows data plane end to end on this machine: the real koffi binding drives the gcc-built
 * WinDivert double; packets go in through the double's queue, the real engine transforms them in
 * the agent's packet pump, and the double records what was sent (exact bytes and address flags).
 */
import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { PacketBatch } from '../../src/engine/batch';
import { Engine } from '../../src/engine/engine';
import { PacketPump } from '../../src/divert/pump';
import { ADDRESS_BIT } from '../../src/divert/windows/address';
import { WinDivertDataPlane } from '../../src/divert/windows/windows';
import { WinDivertDouble, type SentPacket } from './support/double';
import { buildAddress, buildPacket, describe5, type PacketSpec } from './support/packets';

let double: WinDivertDouble;
beforeAll(() => (double = WinDivertDouble.build()));
afterAll(() => double.dispose());
beforeEach(() => double.reset());
// A test that fails half-way must not leave a receive blocked in the double for the next one.
const planes: WinDivertDataPlane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.close().catch(() => undefined)));
});

function newPlane(options: ConstructorParameters<typeof WinDivertDataPlane>[0] = {}): WinDivertDataPlane {
  const plane = new WinDivertDataPlane({ libraryPath: double.libraryPath, listAdapters: async () => adapters, ...options });
  planes.push(plane);
  return plane;
}

const HOST = '198.18.0.10';
const CLIENT = '198.18.1.1';
const adapters = [
  { name: 'Ethernet', index: 7, macs: ['02:00:00:00:00:07'], addresses: [HOST] },
  { name: 'Ethernet 2', index: 12, macs: ['02:00:00:00:00:0c'], addresses: ['198.18.100.2'] },
];

function rule(id: string, partial: Pick<Rule, 'selector'> & Partial<Rule>): Rule {
  return { id, enabled: true, activityMonitoring: true, forwardAs: {}, ...partial };
}

const forward80 = rule('fwd', { selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } });

interface Running {
  plane: WinDivertDataPlane;
  engine: Engine;
  pumped: Promise<void>;
  errors: unknown[];
}

async function start(rules: Rule[], options: { queue?: { length?: number } } = {}): Promise<Running> {
  const plane = newPlane(options);
  const engine = new Engine();
  apply(plane, engine, rules);
  await plane.open();
  const errors: unknown[] = [];
  const pumped = new PacketPump(plane, engine, (e) => errors.push(e)).start();
  return { plane, engine, pumped, errors };
}

function apply(plane: WinDivertDataPlane, engine: Engine, rules: Rule[]): void {
  const input = { rules, settings: DEFAULT_SETTINGS, resolved: new Map<string, string[]>(), adapters, capabilities: plane.capabilities };
  const applied = engine.apply(input);
  if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
  const errors = plane.select(input);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
}

async function stop(r: Running): Promise<void> {
  await r.plane.close();
  await r.pumped;
  expect(r.errors).toEqual([]);
}

async function sentAtLeast(n: number, timeoutMs = 3000): Promise<SentPacket[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sent = double.sent();
    if (sent.length >= n) return sent;
    if (Date.now() > deadline) throw new Error(`the double saw ${sent.length} packets sent, expected ${n}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function closedAtLeast(n: number, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (double.closeCount < n) {
    if (Date.now() > deadline) throw new Error(`the double saw ${double.closeCount} handles closed, expected ${n}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const bits = (address: Buffer) => address.readUInt32LE(8);
const tcp = (src: string, srcPort: number, dst: string, dstPort: number, extra: Partial<PacketSpec> = {}): PacketSpec => ({
  protocol: 'tcp',
  src,
  dst,
  srcPort,
  dstPort,
  ...extra,
});

describe('WinDivertDataPlane with the engine', () => {
  it('opens with the compiled filter at the network layer', async () => {
    const r = await start([forward80]);
    expect(double.lastOpen()).toEqual({
      filter: '(((inbound or loopback) and tcp.DstPort == 80) or (outbound and tcp.SrcPort == 8080))',
      layer: 0,
      priority: 0,
      flags: 0,
    });
    expect(r.plane.capabilities).toEqual({ kind: 'windivert', layer2: false, reflection: true, adapters: true, clone: true });
    await stop(r);
  });

  it('scenario 1: forwards :80 to :8080 and back, keeping each packet’s address', async () => {
    const r = await start([forward80]);
    const inAddress = buildAddress({ outbound: false, ifIdx: 7, subIfIdx: 3, timestamp: 42 });
    double.enqueue(buildPacket(tcp(CLIENT, 40000, HOST, 80)), inAddress);
    double.enqueue(buildPacket(tcp(HOST, 8080, CLIENT, 40000, { tcpFlags: 0x12 })), buildAddress({ outbound: true, ifIdx: 7 }));
    const sent = await sentAtLeast(2);
    // Exact bytes: the engine's incremental checksum updates equal a freshly built packet's.
    expect(sent[0]!.bytes).toEqual(buildPacket(tcp(CLIENT, 40000, HOST, 8080)));
    expect(sent[0]!.address).toEqual(inAddress); // inbound, IfIdx 7 / SubIfIdx 3, timestamp, checksum flags
    expect(sent[1]!.bytes).toEqual(buildPacket(tcp(HOST, 80, CLIENT, 40000, { tcpFlags: 0x12 })));
    expect(bits(sent[1]!.address) & ADDRESS_BIT.OUTBOUND).toBeTruthy();
    expect(r.plane.stats).toMatchObject({ received: 2, sent: 2, dropped: 0 });
    await stop(r);
  });

  it('scenario 5: mirror reflection sends an inbound packet back out (Outbound set by the verdict)', async () => {
    const mirror = rule('mirror', {
      selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 },
      forwardAs: { reflection: 'mirror', remoteAddress: '198.18.9.1', remotePort: 8080 },
    });
    const r = await start([mirror]);
    double.enqueue(buildPacket(tcp(CLIENT, 40000, HOST, 80)), buildAddress({ outbound: false, ifIdx: 7, subIfIdx: 3 }));
    const [out] = await sentAtLeast(1);
    expect(describe5(out!.bytes)).toBe(`tcp ${HOST}:80 > 198.18.9.1:8080`);
    expect(out!.bytes).toEqual(buildPacket(tcp(HOST, 80, '198.18.9.1', 8080)));
    expect(bits(out!.address) & ADDRESS_BIT.OUTBOUND).toBeTruthy();
    // The other server's answer comes back in and is mirrored to the client, inbound → outbound.
    double.enqueue(buildPacket(tcp('198.18.9.1', 8080, HOST, 80, { tcpFlags: 0x12 })), buildAddress({ outbound: false, ifIdx: 7, subIfIdx: 3 }));
    const sent = await sentAtLeast(2);
    expect(describe5(sent[1]!.bytes)).toBe(`tcp ${HOST}:80 > ${CLIENT}:40000`);
    expect(bits(sent[1]!.address) & ADDRESS_BIT.OUTBOUND).toBeTruthy();
    await stop(r);
  });

  it('clone: the original goes on unchanged and the copy is injected with a fresh address', async () => {
    const clone = rule('clone', {
      selector: { direction: 'inbound', protocol: 'tcp', localPort: 443 },
      forwardAs: { clone: true, reflection: 'mirror', remoteAddress: '198.18.50.50', remotePort: 9000 },
    });
    const r = await start([clone]);
    const original = buildPacket(tcp(CLIENT, 40000, HOST, 443));
    double.enqueue(original, buildAddress({ outbound: false, ifIdx: 7, subIfIdx: 3 }));
    const sent = await sentAtLeast(2);
    const copy = sent.find((s) => describe5(s.bytes) === `tcp ${HOST}:443 > 198.18.50.50:9000`);
    const passed = sent.find((s) => s.bytes.equals(original));
    expect(passed && copy).toBeTruthy();
    expect(bits(passed!.address) & ADDRESS_BIT.OUTBOUND).toBe(0);
    // The copy: outbound, not an impostor, no checksum claimed valid, adapter kept.
    expect(bits(copy!.address) & (ADDRESS_BIT.OUTBOUND | ADDRESS_BIT.IMPOSTOR | ADDRESS_BIT.TCP_CHECKSUM)).toBe(ADDRESS_BIT.OUTBOUND);
    expect(copy!.address.readUInt32LE(16)).toBe(7);
    expect(r.plane.stats).toMatchObject({ sent: 1, injected: 1 });
    await stop(r);
  });

  it('scenario 4 (without MACs): reroutes through the chosen adapter with the SubIfIdx seen on it', async () => {
    const viaAdapter = rule('via', {
      selector: { direction: 'outbound', protocol: 'tcp', remoteAddress: '198.18.7.7' },
      forwardAs: { adapter: 'Ethernet 2', localAddress: '198.18.100.2' },
    });
    const r = await start([viaAdapter]);
    // Traffic seen earlier on adapter 12 tells the plane its SubIfIdx.
    double.enqueue(buildPacket(tcp('198.18.100.9', 5, '198.18.100.2', 6)), buildAddress({ outbound: false, ifIdx: 12, subIfIdx: 5 }));
    await sentAtLeast(1);
    double.enqueue(buildPacket(tcp(HOST, 40000, '198.18.7.7', 443)), buildAddress({ outbound: true, ifIdx: 7, subIfIdx: 0 }));
    const sent = await sentAtLeast(2);
    expect(sent[1]!.bytes).toEqual(buildPacket(tcp('198.18.100.2', 40000, '198.18.7.7', 443)));
    expect([sent[1]!.address.readUInt32LE(16), sent[1]!.address.readUInt32LE(20)]).toEqual([12, 5]);
    expect(bits(sent[1]!.address) & ADDRESS_BIT.OUTBOUND).toBeTruthy();
    // The answer arrives on adapter 12 and goes back to the stack inbound, on the adapter it came from.
    double.enqueue(buildPacket(tcp('198.18.7.7', 443, '198.18.100.2', 40000, { tcpFlags: 0x12 })), buildAddress({ outbound: false, ifIdx: 12, subIfIdx: 5 }));
    const back = (await sentAtLeast(3))[2]!;
    expect(back.bytes).toEqual(buildPacket(tcp('198.18.7.7', 443, HOST, 40000, { tcpFlags: 0x12 })));
    expect(bits(back.address) & ADDRESS_BIT.OUTBOUND).toBe(0);
    expect([back.address.readUInt32LE(16), back.address.readUInt32LE(20)]).toEqual([7, 0]);
    await stop(r);
  });

  it('receives and sends a whole batch in one RecvEx and one SendEx', async () => {
    const plane = newPlane();
    const engine = new Engine();
    apply(plane, engine, [forward80]);
    await plane.open();
    for (let i = 0; i < 100; i++) double.enqueue(buildPacket(tcp(CLIENT, 30000 + i, HOST, 80)), buildAddress({ outbound: false }));
    const errors: unknown[] = [];
    const pumped = new PacketPump(plane, engine, (e) => errors.push(e)).start();
    const sent = await sentAtLeast(100);
    expect(double.recvCalls).toBeLessThanOrEqual(2); // one batch, then the call that waits
    expect(double.sendCalls).toBe(1);
    expect(sent.map((s) => describe5(s.bytes))).toEqual(Array.from({ length: 100 }, (_, i) => `tcp ${CLIENT}:${30000 + i} > ${HOST}:8080`));
    await plane.close();
    await pumped;
    expect(errors).toEqual([]);
  });

  it('keeps an impostor’s flag so WinDivert breaks a loop, and still sends the rest of the batch', async () => {
    const monitor = rule('mon', { selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 } });
    const plane = newPlane();
    const engine = new Engine();
    apply(plane, engine, [monitor]);
    await plane.open();
    double.enqueue(buildPacket(tcp(CLIENT, 1, HOST, 80)), buildAddress({ outbound: false }));
    double.enqueue(buildPacket(tcp(CLIENT, 2, HOST, 80, { ttl: 1 })), buildAddress({ outbound: false, impostor: true }));
    double.enqueue(buildPacket(tcp(CLIENT, 3, HOST, 80, { ttl: 9 })), buildAddress({ outbound: false, impostor: true }));
    const pumped = new PacketPump(plane, engine, () => undefined).start();
    const sent = await sentAtLeast(2);
    expect(sent.map((s) => describe5(s.bytes))).toEqual([`tcp ${CLIENT}:1 > ${HOST}:80`, `tcp ${CLIENT}:3 > ${HOST}:80`]);
    expect(sent[1]!.bytes[8]).toBe(8); // TTL lowered by the driver for the impostor
    expect(plane.stats).toMatchObject({ received: 3, sent: 2, loopsBroken: 1, sendErrors: 0 });
    await plane.close();
    await pumped;
  });

  it('on close, sends on what is still queued unchanged rather than stalling it', async () => {
    const plane = newPlane();
    apply(plane, new Engine(), [forward80]);
    await plane.open();
    const packets = [1, 2, 3].map((i) => buildPacket(tcp(CLIENT, i, HOST, 80)));
    for (const p of packets) double.enqueue(p, buildAddress({ outbound: false }));
    await plane.close(); // no receive loop ever ran
    expect(double.sent().map((s) => s.bytes)).toEqual(packets);
    expect(double.queued).toBe(0);
    expect(double.closeCount).toBe(1);
  });

  it('switches filters on a new rule list without losing a packet', async () => {
    const r = await start([forward80]);
    double.enqueue(buildPacket(tcp(CLIENT, 1, HOST, 80)), buildAddress({ outbound: false }));
    await sentAtLeast(1);
    const forward25 = rule('smtp', { selector: { direction: 'inbound', protocol: 'tcp', localPort: 25 }, forwardAs: { localPort: 2525 } });
    apply(r.plane, r.engine, [forward25]);
    expect(double.openCount).toBe(2);
    // The old rules' channels stay diverted until their conversations could have timed out.
    expect(double.lastOpen().filter).toBe(
      '(((inbound or loopback) and (tcp.DstPort == 25 or tcp.DstPort == 80)) or (outbound and (tcp.SrcPort == 2525 or tcp.SrcPort == 8080)))',
    );
    double.enqueue(buildPacket(tcp(CLIENT, 2, HOST, 25)), buildAddress({ outbound: false }));
    const sent = await sentAtLeast(2);
    expect(describe5(sent[1]!.bytes)).toBe(`tcp ${CLIENT}:2 > ${HOST}:2525`);
    // The double keeps one queue for every handle, so the shut-down old handle may drain packet 2
    // itself and close only on its next (empty) receive.
    await closedAtLeast(1); // the old handle, drained and closed
    await stop(r);
    expect(double.closeCount).toBe(2);
  });

  it('drops a replaced rule list’s channels once its conversations have timed out', async () => {
    let now = 1_000_000;
    const plane = newPlane({ now: () => now });
    const engine = new Engine();
    apply(plane, engine, [forward80]);
    await plane.open();
    const forward25 = rule('smtp', { selector: { direction: 'inbound', protocol: 'tcp', localPort: 25 } });
    apply(plane, engine, [forward25]);
    expect(plane.filter).toContain('tcp.DstPort == 80');
    apply(plane, engine, [forward25]); // the same list again adds nothing to keep
    now += DEFAULT_SETTINGS.tcpTimeoutS * 1000 + 1;
    apply(plane, engine, [forward25]);
    expect(plane.filter).toBe('(((inbound or loopback) and tcp.DstPort == 25) or (outbound and tcp.SrcPort == 25))');
    expect(double.lastOpen().filter).toBe(plane.filter);
    expect(plane.stats.filterChanges).toBe(3);
    await plane.close();
    expect(double.closeCount).toBe(3);
  });

  it('keeps diverting with the old filter when WinDivert refuses the new one', async () => {
    const r = await start([forward80]);
    const before = r.plane.filter;
    double.failOpen(87);
    const forward25 = rule('smtp', { selector: { direction: 'inbound', protocol: 'tcp', localPort: 25 } });
    expect(() => r.plane.select({ rules: [forward25], resolved: new Map(), adapters })).toThrow(/WinDivertOpen failed: ERROR_INVALID_PARAMETER/);
    expect(r.plane.filter).toBe(before);
    double.failOpen(0);
    double.enqueue(buildPacket(tcp(CLIENT, 1, HOST, 80)), buildAddress({ outbound: false }));
    expect(describe5((await sentAtLeast(1))[0]!.bytes)).toBe(`tcp ${CLIENT}:1 > ${HOST}:8080`);
    await stop(r);
    expect(double.closeCount).toBe(1);
  });

  it('refuses MAC rules at apply, in the engine and in the plane, naming the field', async () => {
    const plane = newPlane();
    const macRule = rule('mac', {
      selector: { direction: 'outbound', protocol: 'tcp', remoteAddress: '198.18.7.7' },
      forwardAs: { adapter: 'Ethernet 2', remoteMac: '02:00:00:00:00:99' },
    });
    const input = { rules: [macRule], settings: DEFAULT_SETTINGS, resolved: new Map<string, string[]>(), adapters, capabilities: plane.capabilities };
    expect(new Engine().apply(input).errors).toMatchObject([{ field: 'forwardAs.remoteMac', code: 'UNSUPPORTED_BY_DATAPLANE' }]);
    expect(plane.select(input)).toMatchObject([{ field: 'forwardAs.remoteMac', code: 'UNSUPPORTED_BY_DATAPLANE', ruleId: 'mac' }]);
    expect(plane.filter).toBe('false');
  });

  it('refuses to start on a WinDivert driver older than 2.2', async () => {
    double.setVersion(2, 1);
    const plane = newPlane();
    await expect(plane.open()).rejects.toThrow(/WinDivert driver 2\.1 is loaded; the agent needs 2\.2/);
    expect(double.closeCount).toBe(1);
  });

  it('refuses a batch arena too small for one WinDivert packet', async () => {
    const plane = newPlane();
    await plane.open();
    await expect(plane.receive(new PacketBatch(16, 16 * 1536))).rejects.toThrow(/at least 65575 bytes/);
    await plane.close();
  });
});
