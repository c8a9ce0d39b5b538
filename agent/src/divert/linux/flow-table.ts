/**
 * The fast path's view of conversations, one entry per direction: the tuple a direction's packets
 * arrive with (and where: prerouting or output hook, family, protocol), the tuple the engine turned
 * them into, and how far the entry is on its way into the kernel. Entry numbers (1..capacity) are
 * also the kernel's identifiers (the low 16 bits of the mark the fast path sets). Typed arrays and
 * an open-addressing index with backward-shift deletion: nothing allocated per packet, no string
 * keys.
 */

/** Words of a tuple: source ×4, destination ×4 (IPv4: word 0 only), source port << 16 | destination port. */
export const TUPLE_WORDS = 9;

/** Bits of an entry's kind (part of its key). */
export const enum FlowKind {
  IPV6 = 1,
  UDP = 2,
  /** Seen in the output hook (sent by this host); otherwise prerouting (arriving, forwarded). */
  OUTPUT_HOOK = 4,
  /** The engine saw these packets as outbound (its key bit). */
  OUTBOUND = 8,
  /** Not part of a key: the data plane's "tuple kept" bit for a batch packet. */
  KEPT = 16,
  /** Not part of a key: the batch packet is a TCP FIN (its direction ends). */
  FIN = 32,
  /** Not part of a key: the batch packet is a TCP RST (its conversation ends). */
  RST = 64,
  /** Not part of a key: the batch packet is a TCP SYN without ACK (a connection starts on this tuple). */
  SYN = 128,
}

export const enum FlowState {
  Free = 0,
  /** Seen in userspace; not yet worth a kernel entry. */
  Counting = 1,
  /** Waiting for the next install batch. */
  Pending = 2,
  /** In the kernel. */
  Installed = 3,
  /** Its kernel elements are being removed; the number is reused only after that. */
  Leaving = 4,
  /** In the kernel, ending (a FIN or RST went by): left to time out soon, never refreshed. */
  Closing = 5,
}

/** At most 65,535 entries: their numbers live in 16 bits of the packet mark. */
export const MAX_FLOWS = 0xffff;

export class FlowTable {
  readonly capacity: number;
  readonly kind: Uint8Array;
  readonly state: Uint8Array;
  /** Per entry: the input tuple (its key), then the output tuple. */
  readonly input: Uint32Array;
  readonly output: Uint32Array;
  /** Packets seen in userspace before the entry went to the kernel. */
  readonly seen: Uint32Array;
  /** Last time (ms) the entry saw a packet in userspace or moved in the kernel's counters. */
  readonly lastMs: Float64Array;
  /** When the kernel element's expiry was last restarted (ms). */
  readonly refreshedMs: Float64Array;
  /** The kernel element's counter values at the last read. */
  readonly kernelPackets: Float64Array;
  readonly kernelBytes: Float64Array;
  /** The entry of the other direction of the same conversation when both were paired, else 0. */
  readonly partner: Int32Array;
  /** 1 once a FIN of this direction went by. */
  readonly finished: Uint8Array;
  private readonly index: Int32Array;
  private readonly mask: number;
  private readonly free: Int32Array;
  private freeTop: number;
  active = 0;

  constructor(capacity = MAX_FLOWS) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_FLOWS) throw new RangeError(`flow table capacity must be in 1..${MAX_FLOWS}, got ${capacity}`);
    this.capacity = capacity;
    const entries = capacity + 1; // entry 0 is never used: 0 means "none"
    this.kind = new Uint8Array(entries);
    this.state = new Uint8Array(entries);
    this.input = new Uint32Array(entries * TUPLE_WORDS);
    this.output = new Uint32Array(entries * TUPLE_WORDS);
    this.seen = new Uint32Array(entries);
    this.lastMs = new Float64Array(entries);
    this.refreshedMs = new Float64Array(entries);
    this.kernelPackets = new Float64Array(entries);
    this.kernelBytes = new Float64Array(entries);
    this.partner = new Int32Array(entries);
    this.finished = new Uint8Array(entries);
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.index = new Int32Array(size);
    this.mask = size - 1;
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - i;
    this.freeTop = capacity;
  }

  /** The entry whose key is (`kind`, `tuple[at ..]`), or 0. */
  find(kind: number, tuple: Uint32Array, at: number): number {
    const index = this.index;
    let i = hashTuple(kind, tuple, at) & this.mask;
    for (;;) {
      const e = index[i]!;
      if (e === 0) return 0;
      if (this.kind[e] === kind && this.sameInput(e, tuple, at)) return e;
      i = (i + 1) & this.mask;
    }
  }

  /** A new entry keyed by (`kind`, `tuple[at ..]`) (known to be absent), 0 when full. */
  add(kind: number, tuple: Uint32Array, at: number): number {
    if (this.freeTop === 0) return 0;
    const e = this.free[--this.freeTop]!;
    this.kind[e] = kind;
    this.input.set(tuple.subarray(at, at + TUPLE_WORDS), e * TUPLE_WORDS);
    this.state[e] = FlowState.Counting;
    this.seen[e] = 0;
    this.kernelPackets[e] = 0;
    this.kernelBytes[e] = 0;
    this.partner[e] = 0;
    this.finished[e] = 0;
    let i = hashTuple(kind, tuple, at) & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = e;
    this.active++;
    return e;
  }

  remove(e: number): void {
    if (this.state[e] === FlowState.Free) return;
    const index = this.index;
    const mask = this.mask;
    let hole = hashTuple(this.kind[e]!, this.input, e * TUPLE_WORDS) & mask;
    while (index[hole] !== e) hole = (hole + 1) & mask;
    let j = (hole + 1) & mask;
    while (index[j] !== 0) {
      const other = index[j]!;
      const home = hashTuple(this.kind[other]!, this.input, other * TUPLE_WORDS) & mask;
      // Move it into the hole unless its home lies after the hole (cyclically) up to j.
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        index[hole] = other;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    index[hole] = 0;
    const partner = this.partner[e]!;
    if (partner !== 0 && this.partner[partner] === e) this.partner[partner] = 0;
    this.partner[e] = 0;
    this.state[e] = FlowState.Free;
    this.free[this.freeTop++] = e;
    this.active--;
  }

  private sameInput(e: number, tuple: Uint32Array, at: number): boolean {
    const input = this.input;
    const base = e * TUPLE_WORDS;
    for (let w = 0; w < TUPLE_WORDS; w++) if (input[base + w] !== tuple[at + w]) return false;
    return true;
  }
}

function hashTuple(kind: number, tuple: Uint32Array, at: number): number {
  let h = Math.imul(0x2545f491 ^ kind, 0x9e3779b1);
  for (let w = 0; w < TUPLE_WORDS; w++) h = Math.imul(h ^ (h >>> 15) ^ tuple[at + w]!, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}
