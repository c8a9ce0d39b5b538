/**
 * The buffers a data plane hands to the engine: struct-of-arrays over one byte arena, allocated
 * once and reused for every batch, so the packet path allocates nothing.
 */

/**
 * What the data plane does with packet i after `Engine.process`. A plain const object (not a
 * `const enum`): SWC compiles files one at a time and cannot inline const enums across files.
 */
export const Verdict = {
  /** Send unchanged, the way it was going. */
  Accept: 0,
  /** Bytes were rewritten in place; send the way it was going. */
  AcceptModified: 1,
  /** Discard (replies to a clone). */
  Drop: 2,
  /** Rewritten in place; send in the direction / through the adapter now in flags[i] / ifIndex[i]. */
  Reroute: 3,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Bits of `PacketBatch.flags`. */
export const PacketFlag = {
  /** Set: leaving this host. Clear: arriving at it. */
  Outbound: 1,
  /** The bytes start with an Ethernet header (else with the IP header). */
  Layer2: 2,
  Loopback: 4,
} as const;

/**
 * PacketFlag bits and Verdict values again as `const enum`s, for the packet path: tsc inlines
 * them as literals, where each use of the objects above is a property read (batch.test.ts holds
 * the two to the same values).
 */
export const enum Flag {
  Outbound = 1,
  Layer2 = 2,
  Loopback = 4,
}
export const enum Code {
  Accept = 0,
  AcceptModified = 1,
  Drop = 2,
  Reroute = 3,
}

export const DEFAULT_BATCH_CAPACITY = 256;
/** Room for a full batch of 1500-byte frames plus VLAN/Ethernet headers. */
const DEFAULT_BYTES_PER_PACKET = 1536;

export class PacketBatch {
  /** Arena: packet i is `data[offset[i] .. offset[i] + length[i])`. */
  readonly data: Uint8Array;
  /** A view of `data` for the engine's word reads (created once with the arena). */
  readonly view: DataView;
  readonly offset: Uint32Array;
  readonly length: Uint32Array;
  /** PacketFlag bits; the engine rewrites the Outbound bit for rerouted packets. */
  readonly flags: Uint8Array;
  /** Adapter the packet came in / goes out on; the engine rewrites it for rerouted packets. */
  readonly ifIndex: Uint32Array;
  /** Written by the engine (Verdict). */
  readonly verdict: Uint8Array;
  /** Index in the current rule list of the rule that handled packet i; -1 none (written by the engine). */
  readonly rule: Int16Array;
  readonly capacity: number;
  count = 0;
  /** First free byte of the arena (for `push`). */
  used = 0;

  constructor(capacity = DEFAULT_BATCH_CAPACITY, arenaBytes = capacity * DEFAULT_BYTES_PER_PACKET) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65535) {
      throw new RangeError(`PacketBatch capacity must be an integer in 1..65535, got ${capacity}`);
    }
    this.capacity = capacity;
    this.data = new Uint8Array(arenaBytes);
    this.view = new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    this.offset = new Uint32Array(capacity);
    this.length = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.ifIndex = new Uint32Array(capacity);
    this.verdict = new Uint8Array(capacity);
    this.rule = new Int16Array(capacity);
  }

  clear(): void {
    this.count = 0;
    this.used = 0;
  }

  /** Copies a packet in; returns its index, or -1 when the batch or the arena is full. */
  push(bytes: Uint8Array, flags: number, ifIndex: number): number {
    return this.pushFrom(bytes, 0, bytes.length, flags, ifIndex);
  }

  /** Like `push`, from `src[start .. start + length)`, without making a subarray. */
  pushFrom(src: Uint8Array, start: number, length: number, flags: number, ifIndex: number): number {
    const i = this.count;
    if (i >= this.capacity || this.used + length > this.data.length) return -1;
    const dst = this.data;
    const at = this.used;
    for (let k = 0; k < length; k++) dst[at + k] = src[start + k]!;
    this.offset[i] = at;
    this.length[i] = length;
    this.flags[i] = flags;
    this.ifIndex[i] = ifIndex;
    this.verdict[i] = Verdict.Accept;
    this.rule[i] = -1;
    this.used = at + length;
    this.count = i + 1;
    return i;
  }

  /** A copy of packet i's bytes (tests and slow paths; allocates). */
  bytes(i: number): Uint8Array {
    return this.data.slice(this.offset[i]!, this.offset[i]! + this.length[i]!);
  }
}
