/**
 * Packet-parser hardening (issue 7, docs/security.md §packet input): millions of mutated packets
 * through the real Engine with rules that rewrite ports and addresses, reflect and clone. Whatever
 * arrives, the engine must not throw, must not hang (bounded time per batch), must never write
 * outside a packet's bytes, must emit only packets inside the arena, and must count malformed input.
 *
 * PORTFLEET_FUZZ_PACKETS sets the count (default 10 million, the acceptance figure: ~16 s on one
 * core of the dev machine, ~640,000 packets/s including mutation and checks). The seed is fixed
 * (PRNG below), so a failure reproduces; PORTFLEET_FUZZ_SEED picks another one.
 */
import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { PacketBatch, PacketFlag, Verdict } from '../../src/engine/batch';
import { Engine } from '../../src/engine/engine';
import { buildPacket, type PacketSpec } from '../../src/packet/build';

const TOTAL = Number(process.env.PORTFLEET_FUZZ_PACKETS ?? 10_000_000);
const SEED = Number(process.env.PORTFLEET_FUZZ_SEED ?? 0x5eed7);
const BATCH = 256;
/** Bytes after every packet in the arena, filled with a known value: a write past a packet shows there. */
const GUARD = 16;
const GUARD_BYTE = 0xa5;
/**
 * A normal batch takes well under a millisecond alone and ~80 ms at worst with the whole security
 * suite sharing two cores; a loop driven by a hostile header field would take seconds. The bound
 * leaves room for a loaded CI machine without hiding a hang.
 */
const MAX_BATCH_MS = 1000;
/** Every TIGHT_EVERY-th batch runs each packet alone in an arena of exactly its size, so any read past its end throws. */
const TIGHT_EVERY = 64;

/** xorshift32: deterministic, fast, no allocation. */
class Prng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

const ADAPTERS = [
  { name: 'eth0', index: 1, macs: [], addresses: [] },
  { name: 'eth1', index: 2, macs: [], addresses: [] },
];
const CAPS = { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true };

const RULES: Rule[] = [
  rule('ports', { direction: 'inbound', protocol: 'tcp', localPort: 80 }, { localPort: 8080 }),
  rule('addresses', { direction: 'outbound', protocol: 'udp', remotePort: 53 }, { remoteAddress: '198.18.0.53', remotePort: 5353 }),
  rule('v6', { direction: 'outbound', protocol: 'tcp', remoteAddress: 'fd00::2' }, { remoteAddress: 'fd00::99', remotePort: 4443 }),
  rule('mirror', { direction: 'inbound', protocol: 'udp', localPort: 7 }, { reflection: 'mirror' }),
  rule('route', { direction: 'inbound', protocol: 'tcp', localPort: 25 }, { reflection: 'route', adapter: 'eth1' }),
  rule('clone', { direction: 'outbound', protocol: 'udp' }, { clone: true, remotePort: 9999 }),
];

function rule(id: string, selector: Rule['selector'], forwardAs: Rule['forwardAs']): Rule {
  return { id, enabled: true, activityMonitoring: false, selector, forwardAs };
}

interface Seed {
  bytes: Uint8Array;
  flags: number;
  /** Where the IP header starts (14 with Ethernet). */
  ip: number;
}

function seeds(): Seed[] {
  const out: Seed[] = [];
  const payload = Uint8Array.from({ length: 48 }, (_, i) => i);
  const ipv4Options = Uint8Array.of(1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0); // NOP, NOP, record route (7 bytes), end
  const ext = [
    { type: 0, body: new Uint8Array(6) }, // hop-by-hop
    { type: 60, body: new Uint8Array(14) }, // destination options
  ];
  const base: PacketSpec[] = [
    { protocol: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 40000, dstPort: 80, payload },
    { protocol: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 40001, dstPort: 25, payload, ipv4Options },
    { protocol: 'udp', src: '198.18.0.1', dst: '198.18.0.9', srcPort: 5000, dstPort: 53, payload },
    { protocol: 'udp', src: '198.18.0.1', dst: '198.18.0.9', srcPort: 5001, dstPort: 53, payload, udpNoChecksum: true },
    { protocol: 'udp', src: '198.18.0.3', dst: '198.18.0.1', srcPort: 5002, dstPort: 7, payload },
    { protocol: 'tcp', src: 'fd00::1', dst: 'fd00::2', srcPort: 40002, dstPort: 443, payload },
    { protocol: 'tcp', src: 'fd00::1', dst: 'fd00::2', srcPort: 40003, dstPort: 443, payload, ipv6Extensions: ext },
    { protocol: 'udp', src: 'fd00::3', dst: 'fd00::1', srcPort: 5003, dstPort: 7, payload, ipv6Extensions: ext },
    { protocol: 'udp', src: 'fd00::1', dst: 'fd00::4', srcPort: 5004, dstPort: 53, payload },
  ];
  for (const spec of base) {
    const outbound = spec.dstPort === 53 || spec.dstPort === 443;
    for (const layer2 of [false, true]) {
      const bytes = buildPacket(layer2 ? { ...spec, ethernet: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } } : spec);
      const flags = (outbound ? PacketFlag.Outbound : 0) | (layer2 ? PacketFlag.Layer2 : 0);
      out.push({ bytes, flags, ip: layer2 ? 14 : 0 });
    }
  }
  // Fragments: an IPv4 first fragment (MF set) and an IPv6 packet with a fragment header.
  const frag4 = buildPacket(base[0]!);
  frag4[6] = 0x20; // MF
  out.push({ bytes: frag4, flags: 0, ip: 0 });
  out.push({ bytes: buildPacket({ ...base[5]!, ipv6Extensions: [{ type: 44, body: Uint8Array.of(0, 8, 0, 0, 0, 1) }] }), flags: PacketFlag.Outbound, ip: 0 });
  return out;
}

const enum Mutation {
  BitFlips,
  Truncate,
  LengthLie,
  RandomBytes,
  HugeHeader,
  Intact,
  COUNT,
}

/**
 * Writes a mutated seed into `dst` at `at`; returns its length. `certainlyMalformed` is set when the
 * result is too short to hold any IP header (the engine must count it and pass it unchanged).
 */
function mutate(rng: Prng, seed: Seed, dst: Uint8Array, at: number, state: { certainlyMalformed: boolean }): number {
  const src = seed.bytes;
  let len = src.length;
  state.certainlyMalformed = false;
  const kind = rng.below(Mutation.COUNT) as Mutation;
  if (kind === Mutation.RandomBytes) {
    len = rng.below(160);
    for (let k = 0; k < len; k++) dst[at + k] = rng.next() & 0xff;
    state.certainlyMalformed = len < seed.ip + 20;
    return len;
  }
  for (let k = 0; k < len; k++) dst[at + k] = src[k]!;
  const ip = at + seed.ip;
  const v6 = (src[seed.ip]! >>> 4) === 6;
  switch (kind) {
    case Mutation.BitFlips: {
      const n = 1 + rng.below(4);
      for (let k = 0; k < n; k++) dst[at + rng.below(len)]! ^= 1 << rng.below(8);
      break;
    }
    case Mutation.Truncate:
      len = rng.below(len);
      state.certainlyMalformed = len < seed.ip + 20;
      break;
    case Mutation.LengthLie: {
      const value = rng.next() & 0xffff;
      const l4 = ip + (v6 ? 40 : (src[seed.ip]! & 15) << 2);
      switch (rng.below(4)) {
        case 0: // IPv4 total length / IPv6 payload length
          dst[ip + (v6 ? 4 : 2)] = value >>> 8;
          dst[ip + (v6 ? 5 : 3)] = value & 0xff;
          break;
        case 1: // IPv4 IHL
          if (!v6) dst[ip] = 0x40 | (value & 15);
          else dst[ip + 41] = value & 0xff; // first extension header's length
          break;
        case 2: // TCP data offset / UDP length
          if (l4 + 5 < at + len) {
            dst[l4 + 4] = value >>> 8;
            dst[l4 + 5] = value & 0xff;
            dst[l4 + 12] = value & 0xf0;
          }
          break;
        default: // the length field grows past the buffer
          dst[ip + (v6 ? 4 : 2)] = 0xff;
          dst[ip + (v6 ? 5 : 3)] = 0xff;
      }
      break;
    }
    case Mutation.HugeHeader:
      if (!v6) dst[ip] = 0x4f;
      else if (len > ip - at + 42) dst[ip + 41] = 0xff;
      if (len > ip - at + 60) dst[ip + (v6 ? 40 : 20) + 12] = 0xf0;
      break;
    case Mutation.Intact:
    case Mutation.COUNT:
      break;
  }
  return len;
}

function newEngine(): Engine {
  const engine = new Engine({ maxConversations: 4096 });
  const applied = engine.apply({ rules: RULES, settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: ADAPTERS, capabilities: CAPS });
  if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
  return engine;
}

function assertWithinArena(batch: PacketBatch, label: string): void {
  for (let i = 0; i < batch.count; i++) {
    const end = batch.offset[i]! + batch.length[i]!;
    if (end > batch.data.length) throw new Error(`${label} packet ${i} ends at ${end}, past the arena (${batch.data.length})`);
    if (batch.verdict[i]! > Verdict.Reroute) throw new Error(`${label} packet ${i} has verdict ${batch.verdict[i]}`);
  }
}

describe('packet parser hardening', () => {
  it(`${TOTAL.toLocaleString('en')} mutated packets: no exception, no hang, no write outside a packet, malformed counted`, () => {
    const rng = new Prng(SEED);
    const all = seeds();
    const engine = newEngine();
    const batch = new PacketBatch(BATCH, BATCH * (200 + GUARD));
    const emitted = new PacketBatch(BATCH);
    const state = { certainlyMalformed: false };
    const certain = new Uint8Array(BATCH);
    let certainlyMalformed = 0;
    let processed = 0;
    let batches = 0;
    let slowest = 0;
    let engineMs = 0;
    let now = 1;
    const started = performance.now();
    while (processed < TOTAL) {
      const n = Math.min(BATCH, TOTAL - processed);
      batches++;
      if (batches % TIGHT_EVERY === 0) {
        // Alone in an exact-size arena: the engine's DataView throws on any read past the end.
        for (let i = 0; i < n; i++) {
          const seed = all[rng.below(all.length)]!;
          const scratch = new Uint8Array(256);
          const len = mutate(rng, seed, scratch, 0, state);
          const tight = new PacketBatch(1, Math.max(len, 1));
          tight.pushFrom(scratch, 0, len, seed.flags, 1);
          emitted.clear();
          engine.process(tight, emitted, now);
          assertWithinArena(tight, 'tight');
          assertWithinArena(emitted, 'tight emitted');
          if (state.certainlyMalformed) {
            certainlyMalformed++;
            expect(tight.verdict[0]).toBe(Verdict.Accept);
          }
        }
        processed += n;
        continue;
      }
      batch.clear();
      emitted.clear();
      for (let i = 0; i < n; i++) {
        const seed = all[rng.below(all.length)]!;
        const at = batch.used;
        const len = mutate(rng, seed, batch.data, at, state);
        certain[i] = state.certainlyMalformed ? 1 : 0;
        batch.offset[i] = at;
        batch.length[i] = len;
        batch.flags[i] = seed.flags;
        batch.ifIndex[i] = 1 + (i & 1);
        batch.verdict[i] = Verdict.Accept;
        batch.rule[i] = -1;
        batch.data.fill(GUARD_BYTE, at + len, at + len + GUARD);
        batch.used = at + len + GUARD;
        batch.count = i + 1;
      }
      const t0 = performance.now();
      engine.process(batch, emitted, now);
      const took = performance.now() - t0;
      if (took > slowest) slowest = took;
      engineMs += took;
      if (took > MAX_BATCH_MS) throw new Error(`batch ${batches} took ${took.toFixed(1)} ms`);
      assertWithinArena(batch, 'batch');
      assertWithinArena(emitted, 'emitted');
      for (let i = 0; i < n; i++) {
        const end = batch.offset[i]! + batch.length[i]!;
        for (let k = end; k < end + GUARD; k++) {
          if (batch.data[k] !== GUARD_BYTE) throw new Error(`batch ${batches} packet ${i}: byte ${k - end} after its end was written`);
        }
        if (certain[i]) {
          certainlyMalformed++;
          if (batch.verdict[i] !== Verdict.Accept) throw new Error(`batch ${batches} packet ${i}: a too-short packet got verdict ${batch.verdict[i]}`);
        }
      }
      processed += n;
      now += 3; // time moves, so conversations expire and the sweep runs too
    }
    const seconds = (performance.now() - started) / 1000;
    const stats = engine.stats();
    // One line for docs/security.md's figures.
    console.log(
      `packet fuzz: ${processed} packets in ${seconds.toFixed(1)} s (${Math.round(processed / seconds).toLocaleString('en')} packets/s), ` +
        `slowest batch ${slowest.toFixed(2)} ms, engine time ${(engineMs / 1000).toFixed(1)} s, stats ${JSON.stringify(stats)}`,
    );
    expect(processed).toBe(TOTAL);
    expect(stats.malformed).toBeGreaterThanOrEqual(certainlyMalformed);
    expect(certainlyMalformed).toBeGreaterThan(TOTAL / 100);
    expect(stats.fragments).toBeGreaterThan(0);
    // The rules were reached: mutation did not just produce noise.
    const counters = engine.counters();
    for (const id of ['ports', 'addresses', 'v6', 'mirror', 'route', 'clone']) {
      const c = counters.find((r) => r.ruleId === id);
      expect([id, (c?.packetsIn ?? 0) + (c?.packetsOut ?? 0) > 0]).toEqual([id, true]);
    }
  });
});
