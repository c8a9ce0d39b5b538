/**
 * The conversation table: one open-addressing hash table of 32-byte slots (linear probing,
 * backward-shift deletion, no tombstones) holding each key with what an IPv4 packet carrying it
 * needs (output tuple, checksum deltas), so the random read of an established packet touches half
 * a cache line of a table small enough to stay mostly in cache (docs/engine.md "Performance").
 * The rest (control word, adapter, last-seen time, counter slot, IPv6 key words) lives in side
 * arrays indexed by role. Fixed-size typed arrays, no strings, nothing allocated after construction.
 *
 * A conversation has up to three keys ("roles"): 0 the first packet's tuple (forward), 1 the tuple
 * its replies arrive with (reverse), 2 for clones only: replies to the original. The output tuple
 * of role 0 is role 1's key turned around and vice versa. A conversation is described first in
 * 16-word draft records (K, V4_OUT, R below), which `place` packs into the table.
 */

import { Verdict } from './batch';
import { IpProtocol } from '../packet/ip-protocol';

/** Words of a key (draft records, the engine's packet key): meta (used | family | direction | protocol), source ×4, destination ×4, ports. */
export const enum K {
  META = 0,
  SRC = 1,
  DST = 5,
  PORTS = 9,
}
/** An IPv4 key uses words META, SRC, DST and PORTS only; words 2-4 of its draft record hold the role's output tuple. */
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
  /** Words of a draft record: the key, then the action fields (R). */
  RECORD_WORDS = 16,
  ROLES = 3,
  /** Bytes of the MAC pair (destination, source) stored per conversation for roles 0 and 1. */
  MAC_PAIR = 12,
  /** R.ADAPTER value that leaves the adapter as it is. */
  KEEP_ADAPTER = 0xffffffff,
  /** Words of an IPv6 output tuple (source ×4, destination ×4, ports) per conversation and role 0/1. */
  OUT6_WORDS = 9,
  /** IPv6 key words kept beside the table (source and destination words 0-2) per role. */
  KEY6_WORDS = 6,
}
/**
 * Words of a table slot (32 bytes). TAG = key kind << 28 | hot control bits << 22 | role
 * reference (conversation · 4 + role). IPv6 slots hold the last address words; the others are in
 * `keys6`.
 */
export const enum S {
  TAG = 0,
  SRC = 1,
  DST = 2,
  PORTS = 3,
  /** IPv4 output tuple, as the packet will carry it. */
  OUT_SRC = 4,
  OUT_DST = 5,
  OUT_PORTS = 6,
  /** Transport checksum delta | IPv4 header checksum delta << 16. */
  DELTAS = 7,
  WORDS = 8,
}
/**
 * A slot's TAG: the key kind in the top 4 bits (used, IPv6, outbound, UDP: the protocol is TCP or
 * UDP), the control word's low 6 bits (action, verdict, output direction, MACs) and the role
 * reference, so a packet learns what to do from its slot alone.
 */
export const enum TAG {
  KIND_SHIFT = 28,
  USED = 8,
  IPV6 = 4,
  OUTBOUND = 2,
  UDP = 1,
  CONTROL_SHIFT = 22,
  CONTROL_MASK = 0x3f,
  REF_MASK = 0x3fffff,
  /** Role references are conversation · REF_STRIDE + role. */
  REF_STRIDE = 4,
  REF_SHIFT = 2,
}
/** Words per conversation in `ConversationTable.conv`. */
export const enum CONV {
  /** Last packet in any direction, in ms since the table's epoch (see `rebase`). */
  SEEN = 0,
  /** Counter slot of the conversation's rule | UDP_BIT. */
  COUNTER = 1,
  WORDS = 2,
  UDP_BIT = 0x80000000,
  COUNTER_MASK = 0x7fffffff,
}
/** Action fields of a draft record. */
export const enum R {
  /** See CONTROL below. */
  CONTROL = 10,
  /** Transport checksum delta | IPv4 header checksum delta << 16. */
  DELTAS = 11,
  /** Output adapter, Layout.KEEP_ADAPTER to leave it. */
  ADAPTER = 12,
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
/**
 * Control word of a draft record: action | verdict << 2 | output direction << 4 | write MACs << 5.
 * The table keeps these 6 bits in the slot's TAG.
 */
export const enum CONTROL {
  ACTION = 3,
  VERDICT_SHIFT = 2,
  DIRECTION_SHIFT = 4,
  MACS = 1 << 5,
}
/** Conversations are numbered in the 20 top bits of a slot's role reference. */
export const MAX_CONVERSATIONS = 1 << 20;

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

/**
 * Table slots per conversation of capacity: two keys each at a load of at most 0.5, and room for
 * every conversation to be a clone (three keys), so only conversation numbers run out. At 2.5
 * slots (load 0.61 at the bench's 100,000 of 131,072) a third of the keys sat past their home slot,
 * where the batch warm-up (`touch`) had not fetched their line or conversation entry; 4 measured
 * 5-15% faster per packet (docs/engine.md "Performance").
 */
const SLOTS_PER_CONVERSATION = 4;

export class ConversationTable {
  readonly capacity: number;
  /**
   * The hash table: S.WORDS per slot, then from `convBase` the words of `conv` (one array, so the
   * packet path touches one object for both).
   */
  readonly slots: Uint32Array;
  readonly convBase: number;
  /** Per conversation: CONV.WORDS (last seen, counter slot): the one other place a packet touches. */
  readonly conv: Uint32Array;
  /** Per role reference (c · 4 + role): output adapter, Layout.KEEP_ADAPTER to leave it. */
  readonly adapter: Uint32Array;
  /** Slot of each role reference, -1 when absent. */
  readonly roleSlot: Int32Array;
  /** Per conversation and role 0/1: destination MAC then source MAC to write. */
  readonly macs: Uint8Array;
  /** Per conversation and role 0/1: the IPv6 output tuple (IPv4 keeps it in its slot). */
  readonly out6: Uint32Array;
  /** Per role reference of an IPv6 key: source words 0-2, destination words 0-2. */
  private readonly keys6: Uint32Array;
  /** A key rebuilt from a slot (deletion recomputes hashes rather than storing them). */
  private readonly scratch = new Uint32Array(Layout.RECORD_WORDS);
  private readonly size: number;
  /** size / 2^24: a (24-bit) hash times this is its home slot (`home`). */
  readonly scale: number;
  private readonly free: Int32Array;
  private freeTop: number;
  /** Clock hand over conversation numbers (eviction when full). */
  private hand = 0;
  /** Clock hand over conversation numbers (expiry sweep). */
  private sweepHand = 0;
  active = 0;

  constructor(capacity: number, private readonly onRelease: OnRelease) {
    this.capacity = capacity;
    this.size = Math.ceil(capacity * SLOTS_PER_CONVERSATION) + Layout.ROLES + 1;
    this.scale = this.size / 2 ** 24;
    const refs = capacity * TAG.REF_STRIDE;
    this.convBase = this.size * S.WORDS;
    this.slots = new Uint32Array(this.convBase + capacity * CONV.WORDS);
    this.conv = this.slots.subarray(this.convBase);
    this.adapter = new Uint32Array(refs);
    this.keys6 = new Uint32Array(refs * Layout.KEY6_WORDS);
    this.roleSlot = new Int32Array(refs).fill(-1);
    this.macs = new Uint8Array(capacity * 2 * Layout.MAC_PAIR);
    this.out6 = new Uint32Array(capacity * 2 * Layout.OUT6_WORDS);
    // Touch every page now, so first packets do not pay the kernel's page faults.
    for (const a of [this.slots, this.conv, this.adapter, this.keys6, this.macs, this.out6]) a.fill(0);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  /** The slot a key with hash `hash` probes first. */
  home(hash: number): number {
    return (hash * this.scale) | 0;
  }

  /**
   * Reads the home slot (both ends) and its conversation entry for the home slots at
   * `homes[i * stride + at]`, i < count: tight loops of independent loads, so their cache misses
   * overlap; returns their sum (for the caller to keep).
   */
  touch(homes: Uint32Array, count: number, stride: number, at: number): number {
    const slots = this.slots;
    let sum = 0;
    // Both ends of the slot: the arena need not be 32-byte aligned, so a slot may span two lines.
    for (let i = 0; i < count; i++) {
      const home = homes[i * stride + at]! * S.WORDS;
      sum = (sum + slots[home]! + slots[home + S.WORDS - 1]!) | 0;
    }
    // Then the conversation entry of the key in each home slot (now in cache), mostly the right one.
    const convBase = this.convBase;
    for (let i = 0; i < count; i++) {
      const tag = slots[homes[i * stride + at]! * S.WORDS]!;
      sum = (sum + slots[convBase + ((tag & TAG.REF_MASK) >>> TAG.REF_SHIFT) * CONV.WORDS]!) | 0;
    }
    return sum;
  }

  /** Reads both ends of the slots `homes[0 .. count)` (independent loads); returns their sum. */
  touchHomes(homes: Uint32Array, count: number): number {
    const slots = this.slots;
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const home = homes[i]! * S.WORDS;
      sum = (sum + slots[home]! + slots[home + S.WORDS - 1]!) | 0;
    }
    return sum;
  }

  /** The slot whose key equals the draft-format key at `key[base ..]`, or -1. */
  find(key: Uint32Array, base: number, hash: number): number {
    const slots = this.slots;
    const size = this.size;
    const meta = key[base]!;
    const kind = kindOf(meta);
    const v6 = (meta & Meta.IPV6) !== 0;
    const src = key[base + K.SRC + (v6 ? 3 : 0)]!;
    const dst = key[base + K.DST + (v6 ? 3 : 0)]!;
    const ports = key[base + K.PORTS]!;
    let i = (hash * this.scale) | 0;
    for (;;) {
      const at = i * S.WORDS;
      const tag = slots[at]!;
      if (tag === 0) return -1;
      if (
        tag >>> TAG.KIND_SHIFT === kind &&
        slots[at + S.SRC] === src &&
        slots[at + S.DST] === dst &&
        slots[at + S.PORTS] === ports &&
        (!v6 || this.sameV6(tag & TAG.REF_MASK, key, base))
      ) {
        return i;
      }
      i = i + 1 === size ? 0 : i + 1;
    }
  }

  /**
   * `find` for an IPv4 key given as its TAG kind (`kindOf` its meta word), its words and its home
   * slot. The source word, which differs between most keys, is compared first.
   */
  findV4(kind: number, src: number, dst: number, ports: number, home: number): number {
    const slots = this.slots;
    const size = this.size;
    let i = home;
    for (;;) {
      const at = i * S.WORDS;
      const tag = slots[at]!;
      if (tag === 0) return -1;
      if (slots[at + S.SRC] === src && slots[at + S.DST] === dst && slots[at + S.PORTS] === ports && tag >>> TAG.KIND_SHIFT === kind) return i;
      i = i + 1 === size ? 0 : i + 1;
    }
  }

  /** Conversation of the key in `slot`. */
  conversationAt(slot: number): number {
    return (this.slots[slot * S.WORDS]! & TAG.REF_MASK) >>> TAG.REF_SHIFT;
  }

  /**
   * Packs the draft record at `from[fromAt ..]` into a free slot as role `role` of conversation c;
   * `hash` is hashKey of its key. Returns the slot.
   */
  place(from: Uint32Array, fromAt: number, hash: number, c: number, role: number): number {
    const slots = this.slots;
    const size = this.size;
    let i = this.home(hash);
    while (slots[i * S.WORDS] !== 0) i = i + 1 === size ? 0 : i + 1;
    const at = i * S.WORDS;
    const ref = c * TAG.REF_STRIDE + role;
    const meta = from[fromAt + K.META]!;
    const control = from[fromAt + R.CONTROL]! & TAG.CONTROL_MASK;
    slots[at + S.TAG] = ((kindOf(meta) << TAG.KIND_SHIFT) | (control << TAG.CONTROL_SHIFT) | ref) >>> 0;
    slots[at + S.PORTS] = from[fromAt + K.PORTS]!;
    slots[at + S.DELTAS] = from[fromAt + R.DELTAS]!;
    if ((meta & Meta.IPV6) === 0) {
      slots[at + S.SRC] = from[fromAt + K.SRC]!;
      slots[at + S.DST] = from[fromAt + K.DST]!;
      slots[at + S.OUT_SRC] = from[fromAt + V4_OUT.SRC]!;
      slots[at + S.OUT_DST] = from[fromAt + V4_OUT.DST]!;
      slots[at + S.OUT_PORTS] = from[fromAt + V4_OUT.PORTS]!;
    } else {
      slots[at + S.SRC] = from[fromAt + K.SRC + 3]!;
      slots[at + S.DST] = from[fromAt + K.DST + 3]!;
      const k6 = ref * Layout.KEY6_WORDS;
      for (let w = 0; w < 3; w++) {
        this.keys6[k6 + w] = from[fromAt + K.SRC + w]!;
        this.keys6[k6 + 3 + w] = from[fromAt + K.DST + w]!;
      }
    }
    // Read only for Reroute (the only verdict with an adapter), so other roles skip the write.
    if (((control >>> CONTROL.VERDICT_SHIFT) & 3) === Verdict.Reroute) this.adapter[ref] = from[fromAt + R.ADAPTER]!;
    if (role === 0) {
      this.conv[c * CONV.WORDS + CONV.SEEN] = from[fromAt + R.LAST_SEEN]!;
      this.conv[c * CONV.WORDS + CONV.COUNTER] = (from[fromAt + R.SLOT]! | ((meta & Meta.PROTOCOL) === IpProtocol.Udp ? CONV.UDP_BIT : 0)) >>> 0;
    }
    this.roleSlot[ref] = i;
    return i;
  }

  /**
   * Takes a free conversation number, expiring or evicting conversations while the table is full
   * (out of numbers; the table has room for three keys of each, see SLOTS_PER_CONVERSATION).
   */
  allocate(now: number, tcpTimeoutMs: number, udpTimeoutMs: number, stats: { evictions: number; expired: number }): number {
    while (this.freeTop === 0) {
      // Look at a few conversations after the clock hand: reuse an expired one, else evict the
      // least recently seen of them (approximate LRU, constant time).
      let victim = -1;
      let victimAge = -1;
      let expired = false;
      for (let n = 0; n < 8 && !expired; n++) {
        const c = this.hand;
        this.hand = c + 1 === this.capacity ? 0 : c + 1;
        if (this.roleSlot[c * TAG.REF_STRIDE]! < 0) continue;
        const age = now - this.lastSeen(c);
        expired = age > this.timeout(c, tcpTimeoutMs, udpTimeoutMs);
        if (expired || age > victimAge) {
          victim = c;
          victimAge = age;
        }
      }
      if (victim < 0) continue;
      if (expired) stats.expired++;
      else stats.evictions++;
      this.release(victim);
    }
    this.active++;
    return this.free[--this.freeTop]!;
  }

  /** Last packet of conversation c, in ms since the table's epoch. */
  lastSeen(c: number): number {
    return this.conv[c * CONV.WORDS + CONV.SEEN]!;
  }

  private timeout(c: number, tcpTimeoutMs: number, udpTimeoutMs: number): number {
    return (this.conv[c * CONV.WORDS + CONV.COUNTER]! & CONV.UDP_BIT) === 0 ? tcpTimeoutMs : udpTimeoutMs;
  }

  /** Whether the conversation of the key in `slot` timed out. */
  isExpired(slot: number, now: number, tcpTimeoutMs: number, udpTimeoutMs: number): boolean {
    const c = this.conversationAt(slot);
    return now - this.lastSeen(c) > this.timeout(c, tcpTimeoutMs, udpTimeoutMs);
  }

  /**
   * Looks at the next `budget` conversation numbers (a sequential read of `conv`, cheap for the
   * cache) and ends those that timed out; returns how many ended.
   */
  sweep(budget: number, now: number, tcpTimeoutMs: number, udpTimeoutMs: number): number {
    const conv = this.conv;
    const roleSlot = this.roleSlot;
    const capacity = this.capacity;
    let c = this.sweepHand;
    let ended = 0;
    for (let n = 0; n < budget; n++) {
      const at = c * CONV.WORDS;
      const timeout = (conv[at + CONV.COUNTER]! & CONV.UDP_BIT) === 0 ? tcpTimeoutMs : udpTimeoutMs;
      // A free number looks timed out too (its time is its last conversation's): only such
      // numbers are looked up in `roleSlot`.
      if (now - conv[at + CONV.SEEN]! > timeout && roleSlot[c * TAG.REF_STRIDE]! >= 0) {
        this.release(c);
        ended++;
      }
      c = c + 1 === capacity ? 0 : c + 1;
    }
    this.sweepHand = c;
    return ended;
  }


  /** Moves the time base `by` ms forward: every last-seen time drops by it (not below 0). */
  rebase(by: number): void {
    for (let c = 0; c < this.capacity; c++) {
      const at = c * CONV.WORDS + CONV.SEEN;
      this.conv[at] = Math.max(0, this.conv[at]! - by);
    }
  }

  /** Removes conversation c from the table and frees its number. */
  release(c: number): void {
    if (this.roleSlot[c * TAG.REF_STRIDE]! < 0) return;
    for (let role = 0; role < Layout.ROLES; role++) this.unindexRole(c, role);
    this.free[this.freeTop++] = c;
    this.active--;
    this.onRelease(this.conv[c * CONV.WORDS + CONV.COUNTER]! & CONV.COUNTER_MASK);
  }

  /** Takes role r of conversation c out of the table. */
  unindexRole(c: number, role: number): void {
    const slot = this.roleSlot[c * TAG.REF_STRIDE + role]!;
    if (slot < 0) return;
    this.roleSlot[c * TAG.REF_STRIDE + role] = -1;
    this.removeSlot(slot);
  }

  /** Backward-shift deletion: later slots of the run move into the hole when their home allows. */
  private removeSlot(slot: number): void {
    const slots = this.slots;
    const size = this.size;
    let hole = slot;
    let j = slot + 1 === size ? 0 : slot + 1;
    for (;;) {
      const at = j * S.WORDS;
      if (slots[at] === 0) break;
      const home = this.home(this.slotHash(j));
      // Distances along the probe sequence (which wraps at `size`).
      let fromHome = j - home;
      if (fromHome < 0) fromHome += size;
      let fromHole = j - hole;
      if (fromHole < 0) fromHole += size;
      if (fromHome >= fromHole) {
        const to = hole * S.WORDS;
        for (let w = 0; w < S.WORDS; w++) slots[to + w] = slots[at + w]!;
        this.roleSlot[slots[at]! & TAG.REF_MASK] = hole;
        hole = j;
      }
      j = j + 1 === size ? 0 : j + 1;
    }
    slots[hole * S.WORDS] = 0;
  }

  /** hashKey of the key in slot i, rebuilt from the slot (and `keys6`). */
  private slotHash(i: number): number {
    const slots = this.slots;
    const key = this.scratch;
    const at = i * S.WORDS;
    const tag = slots[at]!;
    const kind = tag >>> TAG.KIND_SHIFT;
    const v6 = (kind & TAG.IPV6) !== 0;
    key[K.META] = Meta.USED | (v6 ? Meta.IPV6 : 0) | ((kind & TAG.OUTBOUND) !== 0 ? Meta.OUTBOUND : 0) | ((kind & TAG.UDP) !== 0 ? 17 : 6);
    key[K.PORTS] = slots[at + S.PORTS]!;
    if (!v6) {
      key[K.SRC] = slots[at + S.SRC]!;
      key[K.DST] = slots[at + S.DST]!;
    } else {
      const k6 = (tag & TAG.REF_MASK) * Layout.KEY6_WORDS;
      for (let w = 0; w < 3; w++) {
        key[K.SRC + w] = this.keys6[k6 + w]!;
        key[K.DST + w] = this.keys6[k6 + 3 + w]!;
      }
      key[K.SRC + 3] = slots[at + S.SRC]!;
      key[K.DST + 3] = slots[at + S.DST]!;
    }
    return hashKey(key, 0);
  }

  private sameV6(ref: number, key: Uint32Array, base: number): boolean {
    const keys6 = this.keys6;
    const at = ref * Layout.KEY6_WORDS;
    return (
      keys6[at] === key[base + K.SRC] &&
      keys6[at + 1] === key[base + K.SRC + 1] &&
      keys6[at + 2] === key[base + K.SRC + 2] &&
      keys6[at + 3] === key[base + K.DST] &&
      keys6[at + 4] === key[base + K.DST + 1] &&
      keys6[at + 5] === key[base + K.DST + 2]
    );
  }
}

/** The TAG kind bits (used, IPv6, outbound, UDP) of a key's meta word. */
export function kindOf(meta: number): number {
  return (
    TAG.USED |
    ((meta & Meta.IPV6) !== 0 ? TAG.IPV6 : 0) |
    ((meta & Meta.OUTBOUND) !== 0 ? TAG.OUTBOUND : 0) |
    ((meta & Meta.PROTOCOL) === IpProtocol.Udp ? TAG.UDP : 0)
  );
}

/**
 * Hash of the key at `words[at ..]` (IPv4 keys use only their meaningful words), 24 bits:
 * multiply-xorshift rounds written out (a helper per round was not inlined on the packet path).
 * 24 bits because V8 passes numbers below 2^30 between functions as they are, larger ones boxed
 * in a heap number (an allocation per call); the table's home slot uses 24 bits anyway.
 */
export function hashKey(words: Uint32Array, at: number): number {
  if ((words[at]! & Meta.IPV6) === 0) return hashV4(words[at]!, words[at + K.SRC]!, words[at + K.DST]!, words[at + K.PORTS]!);
  let h = Math.imul(0x2545f491 ^ words[at]!, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ words[at + K.SRC]!, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ words[at + K.DST]!, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ words[at + K.PORTS]!, 0x9e3779b1);
  for (const w of V6_REST) h = Math.imul(h ^ (h >>> 15) ^ words[at + w]!, 0x9e3779b1);
  return finish(h);
}

/** hashKey of an IPv4 key given as its four words. */
export function hashV4(meta: number, src: number, dst: number, ports: number): number {
  let h = Math.imul(0x2545f491 ^ meta, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ src, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ ports, 0x9e3779b1);
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 15;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 8;
}

/** Words of an IPv6 key beyond the ones every key has. */
const V6_REST = [2, 3, 4, 6, 7, 8] as const;
