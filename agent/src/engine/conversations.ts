/**
 * The conversation table: one open-addressing hash table whose slots ARE the records (linear
 * probing, backward-shift deletion, no tombstones), so finding a packet's conversation and reading
 * what to do with it is one memory access. Fixed-size typed arrays, no strings, nothing allocated
 * after construction.
 *
 * A conversation has up to three keys ("roles"): 0 the first packet's tuple (forward), 1 the tuple
 * its replies arrive with (reverse), 2 for clones only: replies to the original. Each role is a
 * record in the table holding its key and what to do with a packet that carries it; the output
 * tuple of role 0 is role 1's key turned around and vice versa.
 */

/** Words of a key: meta (used | family | direction | protocol), source ×4, destination ×4, ports. */
export const enum K {
  META = 0,
  SRC = 1,
  DST = 5,
  PORTS = 9,
}
/**
 * An IPv4 key uses words META, SRC, DST and PORTS only; words 2-4 of its record hold the role's
 * output tuple (as the packet will carry it), so an IPv4 packet reads a single record.
 */
export const enum V4_OUT {
  SRC = 2,
  DST = 3,
  PORTS = 4,
}
/**
 * Sizes. The tables of this file are `const enum`s: tsc (production build) inlines them as
 * literals on the packet path; SWC (tests) keeps them as objects, which works the same.
 */
export const enum Layout {
  KEY_WORDS = 10,
  /** Words of a record (64 bytes): the key, then the action fields. */
  RECORD_WORDS = 16,
  ROLES = 3,
  /** Bytes of the MAC pair (destination, source) stored per conversation for roles 0 and 1. */
  MAC_PAIR = 12,
  /** R.ADAPTER value that leaves the adapter as it is. */
  KEEP_ADAPTER = 0xffffffff,
  /** Words of an IPv6 output tuple (source ×4, destination ×4, ports) per conversation and role 0/1. */
  OUT6_WORDS = 9,
}
export const enum R {
  /** See CONTROL below. */
  CONTROL = 10,
  /** Transport checksum delta | IPv4 header checksum delta << 16. */
  DELTAS = 11,
  /** Output adapter, Layout.KEEP_ADAPTER to leave it. */
  ADAPTER = 12,
  HASH = 13,
  /** Last packet with this role's key, in ms since the table's epoch (see `rebase`). */
  LAST_SEEN = 14,
  /** Counter slot of the conversation's rule. */
  SLOT = 15,
}
export const enum Meta {
  /** Set in every key, so an empty slot (meta 0) never equals one. */
  USED = 1 << 30,
  IPV6 = 1 << 9,
  OUTBOUND = 1 << 8,
  PROTOCOL = 0xff,
}
/** Control word: action | verdict << 2 | output direction << 4 | write MACs << 5 | role << 6 | conversation << 8. */
export const enum CONTROL {
  ACTION = 3,
  VERDICT_SHIFT = 2,
  DIRECTION_SHIFT = 4,
  MACS = 1 << 5,
  ROLE_SHIFT = 6,
  CONVERSATION_SHIFT = 8,
}
/** Conversations are numbered in the control word's top 24 bits. */
export const MAX_CONVERSATIONS = 1 << 24;

export const enum Action {
  /** Pass unchanged (monitoring-only rules, replies to a clone's original). */
  Accept = 0,
  /** Rewrite in place to the output tuple. */
  Rewrite = 1,
  /** Discard (replies to a clone). */
  Drop = 2,
  /** Original passes unchanged; a rewritten copy is emitted. */
  Clone = 3,
}

/** Called when a conversation leaves the table, with its counter slot. */
export type OnRelease = (counterSlot: number) => void;

export class ConversationTable {
  readonly capacity: number;
  /** The hash table: Layout.RECORD_WORDS per slot. */
  readonly records: Uint32Array;
  /** Slot of each conversation's role r at [c * Layout.ROLES + r], -1 when absent. */
  readonly roleSlot: Int32Array;
  /** Per conversation and role 0/1: destination MAC then source MAC to write. */
  readonly macs: Uint8Array;
  /** Per conversation and role 0/1: the IPv6 output tuple (IPv4 keeps it inside its record). */
  readonly out6: Uint32Array;
  private readonly mask: number;
  private readonly free: Int32Array;
  private freeTop: number;
  /** Clock hand over conversation numbers (eviction when full). */
  private hand = 0;
  /** Clock hand over table slots (expiry sweep). */
  private sweepHand = 0;
  active = 0;

  constructor(capacity: number, private readonly onRelease: OnRelease) {
    this.capacity = capacity;
    // Two keys per conversation (three for clones): the load stays near or below 0.5.
    let size = 1;
    while (size < capacity * 4) size <<= 1;
    this.mask = size - 1;
    this.records = new Uint32Array(size * Layout.RECORD_WORDS);
    this.roleSlot = new Int32Array(capacity * Layout.ROLES).fill(-1);
    this.macs = new Uint8Array(capacity * 2 * Layout.MAC_PAIR);
    this.out6 = new Uint32Array(capacity * 2 * Layout.OUT6_WORDS);
    // Touch every page now, so first packets do not pay the kernel's page faults.
    this.records.fill(0);
    this.macs.fill(0);
    this.out6.fill(0);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  /**
   * Reads the first word of the home slot of `hashes[0 .. count)`. A tight loop of independent
   * loads, so their cache misses overlap; returns their sum (for the caller to keep).
   */
  touch(hashes: Uint32Array, count: number): number {
    const records = this.records;
    const mask = this.mask;
    let sum = 0;
    for (let i = 0; i < count; i++) sum = (sum + records[(hashes[i]! & mask) * Layout.RECORD_WORDS]!) | 0;
    return sum;
  }

  /** The slot whose key equals `key[base .. base+Layout.KEY_WORDS)`, or -1. */
  find(key: Uint32Array, base: number, hash: number): number {
    const records = this.records;
    const meta = key[base]!;
    const mask = this.mask;
    let i = hash & mask;
    for (;;) {
      const at = i * Layout.RECORD_WORDS;
      const m = records[at]!;
      if (m === 0) return -1;
      if (
        m === meta &&
        records[at + R.HASH] === hash &&
        records[at + K.SRC] === key[base + K.SRC] &&
        records[at + K.DST] === key[base + K.DST] &&
        records[at + K.PORTS] === key[base + K.PORTS] &&
        ((meta & Meta.IPV6) === 0 || sameV6Rest(records, at, key, base))
      ) {
        return i;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Copies the record at `from[fromAt ..]` into a free slot as role `role` of conversation c;
   * `hash` is hashKey of its key. Returns the slot.
   */
  place(from: Uint32Array, fromAt: number, hash: number, c: number, role: number): number {
    const records = this.records;
    let i = hash & this.mask;
    while (records[i * Layout.RECORD_WORDS] !== 0) i = (i + 1) & this.mask;
    const at = i * Layout.RECORD_WORDS;
    for (let w = 0; w < Layout.RECORD_WORDS; w++) records[at + w] = from[fromAt + w]!;
    records[at + R.HASH] = hash;
    records[at + R.CONTROL] = (from[fromAt + R.CONTROL]! & 0x3f) | (role << CONTROL.ROLE_SHIFT) | (c << CONTROL.CONVERSATION_SHIFT);
    this.roleSlot[c * Layout.ROLES + role] = i;
    return i;
  }

  /** Takes a free conversation number, expiring or evicting one when the table is full. */
  allocate(now: number, tcpTimeoutMs: number, udpTimeoutMs: number, stats: { evictions: number; expired: number }): number {
    if (this.freeTop === 0) {
      // Look at a few conversations after the clock hand: reuse an expired one, else evict the
      // least recently seen of them (approximate LRU, constant time).
      let victim = -1;
      let victimAge = -1;
      let expired = false;
      for (let n = 0; n < 8 && !expired; n++) {
        const c = this.hand;
        this.hand = c + 1 === this.capacity ? 0 : c + 1;
        const age = now - this.lastSeen(c);
        expired = age > this.timeout(c, tcpTimeoutMs, udpTimeoutMs);
        if (expired || age > victimAge) {
          victim = c;
          victimAge = age;
        }
      }
      if (expired) stats.expired++;
      else stats.evictions++;
      this.release(victim);
    }
    this.active++;
    return this.free[--this.freeTop]!;
  }

  /** Latest LAST_SEEN over the conversation's roles. */
  lastSeen(c: number): number {
    let last = 0;
    for (let role = 0; role < Layout.ROLES; role++) {
      const slot = this.roleSlot[c * Layout.ROLES + role]!;
      if (slot >= 0) last = Math.max(last, this.records[slot * Layout.RECORD_WORDS + R.LAST_SEEN]!);
    }
    return last;
  }

  private timeout(c: number, tcpTimeoutMs: number, udpTimeoutMs: number): number {
    const at = this.roleSlot[c * Layout.ROLES]! * Layout.RECORD_WORDS;
    return (this.records[at]! & Meta.PROTOCOL) === 6 ? tcpTimeoutMs : udpTimeoutMs;
  }

  /**
   * Whether the conversation of the record at `at` timed out. The record's own LAST_SEEN decides
   * the common case without touching the other roles' records.
   */
  isExpired(at: number, now: number, tcpTimeoutMs: number, udpTimeoutMs: number): boolean {
    const records = this.records;
    const timeout = (records[at]! & Meta.PROTOCOL) === 6 ? tcpTimeoutMs : udpTimeoutMs;
    if (now - records[at + R.LAST_SEEN]! <= timeout) return false;
    return now - this.lastSeen(records[at + R.CONTROL]! >>> CONTROL.CONVERSATION_SHIFT) > timeout;
  }

  /**
   * Looks at the next `budget` slots of the table (a sequential read, cheap for the cache) and
   * ends the conversations found there that timed out; returns how many ended.
   */
  sweep(budget: number, now: number, tcpTimeoutMs: number, udpTimeoutMs: number): number {
    const records = this.records;
    let ended = 0;
    for (let n = 0; n < budget; n++) {
      const slot = this.sweepHand;
      this.sweepHand = (slot + 1) & this.mask;
      const at = slot * Layout.RECORD_WORDS;
      const meta = records[at]!;
      if (meta === 0) continue;
      const timeout = (meta & Meta.PROTOCOL) === 6 ? tcpTimeoutMs : udpTimeoutMs;
      if (now - records[at + R.LAST_SEEN]! <= timeout) continue;
      const c = records[at + R.CONTROL]! >>> CONTROL.CONVERSATION_SHIFT;
      if (now - this.lastSeen(c) > timeout) {
        this.release(c);
        ended++;
      }
    }
    return ended;
  }

  /** Moves the time base `by` ms forward: every LAST_SEEN drops by it (not below 0). */
  rebase(by: number): void {
    const records = this.records;
    for (let at = 0; at < records.length; at += Layout.RECORD_WORDS) {
      if (records[at] !== 0) records[at + R.LAST_SEEN] = Math.max(0, records[at + R.LAST_SEEN]! - by);
    }
  }

  /** Removes conversation c from the table and frees its number. */
  release(c: number): void {
    const first = this.roleSlot[c * Layout.ROLES]!;
    if (first < 0) return;
    const counterSlot = this.records[first * Layout.RECORD_WORDS + R.SLOT]!;
    for (let role = 0; role < Layout.ROLES; role++) this.unindexRole(c, role);
    this.free[this.freeTop++] = c;
    this.active--;
    this.onRelease(counterSlot);
  }

  /** Takes role r of conversation c out of the table. */
  unindexRole(c: number, role: number): void {
    const slot = this.roleSlot[c * Layout.ROLES + role]!;
    if (slot < 0) return;
    this.roleSlot[c * Layout.ROLES + role] = -1;
    this.removeSlot(slot);
  }

  /** Backward-shift deletion: later records of the run move into the hole when their home allows. */
  private removeSlot(slot: number): void {
    const records = this.records;
    const mask = this.mask;
    let hole = slot;
    let j = (slot + 1) & mask;
    for (;;) {
      const at = j * Layout.RECORD_WORDS;
      if (records[at] === 0) break;
      const home = records[at + R.HASH]! & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        const to = hole * Layout.RECORD_WORDS;
        for (let w = 0; w < Layout.RECORD_WORDS; w++) records[to + w] = records[at + w]!;
        const control = records[at + R.CONTROL]!;
        this.roleSlot[(control >>> CONTROL.CONVERSATION_SHIFT) * Layout.ROLES + ((control >>> CONTROL.ROLE_SHIFT) & 3)] = hole;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    records[hole * Layout.RECORD_WORDS] = 0;
  }
}

function sameV6Rest(records: Uint32Array, at: number, key: Uint32Array, base: number): boolean {
  return (
    records[at + 2] === key[base + 2] &&
    records[at + 3] === key[base + 3] &&
    records[at + 4] === key[base + 4] &&
    records[at + 6] === key[base + 6] &&
    records[at + 7] === key[base + 7] &&
    records[at + 8] === key[base + 8]
  );
}

/** Hash of the key at `words[at ..]` (IPv4 keys use only their meaningful words), as uint32. */
export function hashKey(words: Uint32Array, at: number): number {
  let h = mix(0x2545f491, words[at]!);
  h = mix(h, words[at + K.SRC]!);
  h = mix(h, words[at + K.DST]!);
  h = mix(h, words[at + K.PORTS]!);
  if ((words[at]! & Meta.IPV6) !== 0) {
    h = mix(h, words[at + 2]!);
    h = mix(h, words[at + 3]!);
    h = mix(h, words[at + 4]!);
    h = mix(h, words[at + 6]!);
    h = mix(h, words[at + 7]!);
    h = mix(h, words[at + 8]!);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return h ^ (h >>> 15);
}
