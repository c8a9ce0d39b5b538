/**
 * Transform engine throughput on one core (issue 3): 64-byte IPv4/TCP packets, 50 rules, batches
 * of 256 cycling through all 100,000 conversations in a shuffled order.
 *   established: every packet belongs to a live conversation (lookup + rewrite + counters)
 *   new conversation: every packet is a conversation's first (rule match + table insert + rewrite)
 * Each batch gets its pristine bytes copied back in before processing (the engine rewrites in
 * place, and a data plane copies packets into its batch too), and that copy is inside the timing;
 * so is reading the clock, real milliseconds per batch.
 * Rates are packets per second of this process's CPU time (one thread does the work), so other
 * load on a shared machine does not count against the engine; wall-clock rates go to stderr.
 * A bare reference loop (parse, lookup, port rewrite, one counter) runs first as a yardstick.
 * Human table on stderr, one JSON line last on stdout.
 *   npm run bench:engine [-- --seconds 3]
 */
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Rule } from '@portfleet/proto';
import { Engine, PacketBatch } from '@portfleet/agent/dist/engine/engine';
import { buildPacket } from '@portfleet/agent/dist/packet/build';

const RULES = 50;
const CONVERSATIONS = 100_000;
const BATCH = 256;
const PACKET_BYTES = 64;
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 2;

const rules: Rule[] = Array.from({ length: RULES }, (_, i) => ({
  id: `rule-${i}`,
  enabled: true,
  activityMonitoring: true,
  selector: { direction: 'inbound', protocol: 'tcp', localPort: 1000 + i },
  forwardAs: { localPort: 2000 + i },
}));

function engine(): Engine {
  const e = new Engine({ maxConversations: 1 << 17 });
  const result = e.apply({
    rules,
    settings: { applyDelayMs: 0, tcpTimeoutS: 3600, udpTimeoutS: 3600 },
    resolved: new Map(),
    adapters: [],
    capabilities: { kind: 'bench', layer2: false, reflection: false, adapters: false, clone: false },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return e;
}

/** Conversation k: client 10.(k>>16).(k>>8).(k) : 10000+(k%50000) → 192.0.2.1 : 1000+(k%50). */
function packet(k: number): Uint8Array {
  const payload = new Uint8Array(PACKET_BYTES - 40);
  const bytes = buildPacket({
    protocol: 'tcp',
    src: `10.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}`,
    dst: '192.0.2.1',
    srcPort: 10000 + (k % 50000),
    dstPort: 1000 + (k % RULES),
    payload,
    tcpFlags: 0x10,
  });
  if (bytes.length !== PACKET_BYTES) throw new Error(`packet is ${bytes.length} bytes`);
  return bytes;
}

/** Deterministic shuffle (xorshift), so runs compare. */
function shuffled(n: number, seed: number): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

interface Batches {
  batches: PacketBatch[];
  pristine: Uint8Array[];
}

function batchesFor(order: Uint32Array, packets: Uint8Array[]): Batches {
  const batches: PacketBatch[] = [];
  const pristine: Uint8Array[] = [];
  for (let start = 0; start < order.length; start += BATCH) {
    const batch = new PacketBatch(BATCH, BATCH * PACKET_BYTES);
    for (let i = start; i < Math.min(start + BATCH, order.length); i++) batch.push(packets[order[i]!]!, 0, 1);
    batches.push(batch);
    pristine.push(batch.data.slice());
  }
  return { batches, pristine };
}

/** Runs `body` until `seconds` of wall time pass; returns packets, wall ns and CPU ns. */
function measure(body: () => number): { packets: number; wallNs: number; cpuNs: number } {
  let packets = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < until) packets += body();
  const cpu = process.cpuUsage(cpu0);
  return { packets, wallNs: Number(process.hrtime.bigint() - t0), cpuNs: (cpu.user + cpu.system) * 1000 };
}

/**
 * The yardstick of issue 3: IPv4/TCP parse, open-addressing lookup in typed arrays, port rewrite
 * with incremental checksum, one counter — over the same packets, nothing else.
 */
function bareLoop(batches: Batches): () => number {
  const size = 1 << 18;
  const keys = new Uint32Array(size * 3);
  const value = new Int32Array(size).fill(-1);
  const counter = new Float64Array(RULES);
  const slotOf = (d: DataView, o: number) => {
    const a = d.getUint32(o + 12);
    const b = d.getUint32(o + 16);
    const c = d.getUint32(o + 20);
    let h = Math.imul(a ^ 0x9e3779b1, 0x85ebca6b) ^ b;
    h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ c;
    let i = (h ^ (h >>> 13)) & (size - 1);
    while (value[i]! >= 0 && (keys[3 * i] !== a || keys[3 * i + 1] !== b || keys[3 * i + 2] !== c)) i = (i + 1) & (size - 1);
    keys[3 * i] = a;
    keys[3 * i + 1] = b;
    keys[3 * i + 2] = c;
    return i;
  };
  batches.batches.forEach((batch) => {
    for (let p = 0; p < batch.count; p++) value[slotOf(batch.view, batch.offset[p]!)] = (batch.data[batch.offset[p]! + 23]! - 232) & 63;
  });
  return () => {
    let n = 0;
    for (let b = 0; b < batches.batches.length; b++) {
      const batch = batches.batches[b]!;
      batch.data.set(batches.pristine[b]!);
      const d = batch.view;
      for (let p = 0; p < batch.count; p++) {
        const o = batch.offset[p]!;
        if (batch.data[o]! >>> 4 !== 4) continue;
        const v = value[slotOf(d, o)]!;
        if (v < 0) continue;
        const old = d.getUint16(o + 22);
        const port = old + 1000;
        d.setUint16(o + 22, port);
        let sum = (~d.getUint16(o + 36) & 0xffff) + (~old & 0xffff) + port;
        sum = (sum & 0xffff) + (sum >>> 16);
        d.setUint16(o + 36, ~(sum + (sum >>> 16)) & 0xffff);
        counter[v]!++;
      }
      n += batch.count;
    }
    return n;
  };
}

/** The engine's clock: real milliseconds, read per batch as a data plane does (the expiry sweep's work follows it). */
const clockMs = () => performance.now();

function pass(e: Engine, { batches, pristine }: Batches, emitted: PacketBatch): number {
  let packets = 0;
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b]!;
    batch.data.set(pristine[b]!);
    e.process(batch, emitted, clockMs());
    packets += batch.count;
  }
  return packets;
}

const packets = Array.from({ length: CONVERSATIONS }, (_, k) => packet(k));
const opening = batchesFor(shuffled(CONVERSATIONS, 1), packets);
const established = batchesFor(shuffled(CONVERSATIONS, 2), packets);
const emitted = new PacketBatch(BATCH);

const bare = measure(bareLoop(established));

/**
 * A full garbage collection, run outside the timing: the previous fresh engine's 15 MB of typed
 * arrays are freed by V8's background threads, whose CPU time `process.cpuUsage` would otherwise
 * charge to the next timed pass (the engine itself allocates nothing per packet).
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

// New conversations: a fresh engine per pass (built outside the timing), so every packet opens one.
let steady = engine();
let fresh = engine();
collectGarbage();
const created = { packets: 0, wallNs: 0, cpuNs: 0 };
const newUntil = process.hrtime.bigint() + BigInt(seconds * 1e9);
do {
  const one = measureOnce(() => pass(fresh, opening, emitted));
  created.packets += one.packets;
  created.wallNs += one.wallNs;
  created.cpuNs += one.cpuNs;
  steady = fresh;
  if (process.hrtime.bigint() < newUntil) {
    fresh = engine();
    collectGarbage();
  }
} while (steady !== fresh);
if (steady.stats().conversations !== CONVERSATIONS) throw new Error(`expected ${CONVERSATIONS} conversations, got ${steady.stats().conversations}`);

// Established: the last engine holds all 100,000; cycle through them in another order.
const est = measure(() => pass(steady, established, emitted));

const stats = steady.stats();
const counted = steady.counters().reduce((n, c) => n + c.packetsIn, 0);
if (counted !== est.packets + CONVERSATIONS || stats.conversations !== CONVERSATIONS || stats.evictions !== 0) {
  throw new Error(`engine state is off: ${JSON.stringify({ stats, counted, established: est.packets })}`);
}
const mpps = (n: number, ns: number) => Math.round((n / ns) * 1000 * 100) / 100;
const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
const bareMpps = mpps(bare.packets, bare.cpuNs);
const result = {
  established_mpps: mpps(est.packets, est.cpuNs),
  new_conversation_mpps: mpps(created.packets, created.cpuNs),
  rules: RULES,
  conversations: CONVERSATIONS,
  // The host under this VM moves every rate 2-3x between hours; the yardstick moves with it.
  bare_loop_mpps: bareMpps,
  established_per_bare: ratio(est.packets / est.cpuNs, bare.packets / bare.cpuNs),
  new_per_bare: ratio(created.packets / created.cpuNs, bare.packets / bare.cpuNs),
};
/** Issue 3 set 10 and 2 Mpps where the same bare loop ran at ~50: the goals as fractions of it. */
const GOAL_PER_BARE = { established: 10 / 50, created: 2 / 50 };
const row = (name: string, m: { packets: number; wallNs: number; cpuNs: number }) =>
  `  ${name.padEnd(18)} ${mpps(m.packets, m.cpuNs).toFixed(2).padStart(6)} Mpps CPU  ${mpps(m.packets, m.wallNs).toFixed(2).padStart(6)} Mpps wall  (${m.packets} packets)`;
process.stderr.write(
  [
    `engine bench: one core, ${PACKET_BYTES}-byte IPv4/TCP, batches of ${BATCH}, ${RULES} rules, ${CONVERSATIONS} conversations`,
    row('bare loop', bare),
    row('established', est),
    row('new conversation', created),
    `  per bare loop: established ${result.established_per_bare} (goal ${GOAL_PER_BARE.established}), new ${result.new_per_bare} (goal ${GOAL_PER_BARE.created}) — CPU rates; the ratios survive a noisy host better than the rates`,
    `  goals at this run's yardstick: established >= ${(GOAL_PER_BARE.established * bareMpps).toFixed(2)} Mpps, new >= ${(GOAL_PER_BARE.created * bareMpps).toFixed(2)} Mpps`,
    `  evictions ${stats.evictions}, load average ${loadavg()[0]!.toFixed(2)}`,
    '',
  ].join('\n'),
);
process.stdout.write(`${JSON.stringify(result)}\n`);

function measureOnce(body: () => number): { packets: number; wallNs: number; cpuNs: number } {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const packets = body();
  const cpu = process.cpuUsage(cpu0);
  return { packets, wallNs: Number(process.hrtime.bigint() - t0), cpuNs: (cpu.user + cpu.system) * 1000 };
}
