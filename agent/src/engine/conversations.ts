/**
 * The conversation table: fixed-size typed arrays, open addressing with linear probing and
 * backward-shift deletion (no tombstones), no strings, nothing allocated after construction.
 *
 * A conversation has up to three keys ("roles"): 0 the first packet's tuple (forward), 1 the tuple
 * its replies arrive with (reverse), 2 for clones only: replies to the original. Each role's
 * record holds its key and what to do with a packet that carries it; the output tuple of role 0 is
 * role 1's key turned around and vice versa, so a conversation stores no separate "transformation".
 */

/** Words of a key: meta (family | direction | protocol), source ×4, destination ×4, ports. */
export const KEY_WORDS = 10;
export const K = { META: 0, SRC: 1, DST: 5, PORTS: 9 } as const;
/**
 * An IPv4 key uses words META, SRC, DST and PORTS only; words 2-4 of its record hold the role's
 * output tuple (as the packet will carry it), so an IPv4 packet reads a single record.
 */
export const V4_OUT = { SRC: 2, DST: 3, PORTS: 4 } as const;
/** Words of a role record: the key, then the action fields. */
export const RECORD_WORDS = 16;
export const R = {
  /** Action | verdict << 4 | output direction << 8 | write MACs << 9. */
  CONTROL: 10,
  /** Transport checksum delta | IPv4 header checksum delta << 16. */
  DELTAS: 11,
  /** Output adapter, KEEP_ADAPTER to leave it. */
  ADAPTER: 12,
  HASH: 13,
  /** Last packet with this role's key, in ms since the table's epoch (see `rebase`). */
  LAST_SEEN: 14,
  /** Counter slot | IP protocol << 24 (copied into every role, so a packet touches one record). */
  SLOT: 15,
} as const;
export const SLOT_MASK = 0xffffff;
export const PROTOCOL_SHIFT = 24;
export const ROLES = 3;
export const KEEP_ADAPTER = 0xffffffff;
export const META_IPV6 = 1 << 9;
export const META_OUTBOUND = 1 << 8;
/** Bytes of the MAC pair (destination, source) stored per role 0 and 1. */
export const MAC_PAIR = 12;

export const Action = {
  /** Pass unchanged (monitoring-only rules, replies to a clone's original). */
  Accept: 0,
  /** Rewrite in place to the output tuple. */
  Rewrite: 1,
  /** Discard (replies to a clone). */
  Drop: 2,
  /** Original passes unchanged; a rewritten copy is emitted. */
  Clone: 3,
} as const;

/** Called when a conversation leaves the table, with its counter slot. */
export type OnRelease = (counterSlot: number) => void;

export class ConversationTable {
  readonly capacity: number;
  readonly records: Uint32Array;
  /** Bit r set: role r's key is in the index. 0: the conversation slot is free. */
  readonly roleMask: Uint8Array;
  /** Per conversation and role 0/1: destination MAC then source MAC to write. */
  readonly macs: Uint8Array;
  /** Index: pairs of (hash, conversation * 4 + role), ref -1 when empty. */
  private readonly index: Int32Array;
  private readonly mask: number;
  private readonly free: Int32Array;
  private freeTop: number;
  private hand = 0;
  active = 0;

  constructor(capacity: number, private readonly onRelease: OnRelease) {
    this.capacity = capacity;
    this.records = new Uint32Array(capacity * ROLES * RECORD_WORDS);
    this.roleMask = new Uint8Array(capacity);
    this.macs = new Uint8Array(capacity * 2 * MAC_PAIR);
    // Touch every page now, so first packets do not pay the kernel's page faults.
    this.records.fill(0);
    this.macs.fill(0);
    // Two keys per conversation (three for clones): the load stays near or below 0.5.
    let size = 1;
    while (size < capacity * 4) size <<= 1;
    this.mask = size - 1;
    this.index = new Int32Array(size * 2);
    for (let i = 1; i < this.index.length; i += 2) this.index[i] = -1;
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  /** Finds the record whose key equals `key[base .. base+KEY_WORDS)`: conversation * 4 + role, or -1. */
  find(key: Uint32Array, base: number, hash: number): number {
    const index = this.index;
    const records = this.records;
    const v6 = (key[base]! & META_IPV6) !== 0;
    let i = hash & this.mask;
    for (;;) {
      const ref = index[2 * i + 1]!;
      if (ref < 0) return -1;
      if (index[2 * i] === hash) {
        const at = ((ref >>> 2) * ROLES + (ref & 3)) * RECORD_WORDS;
        if (
          records[at] === key[base] &&
          records[at + K.SRC] === key[base + K.SRC] &&
          records[at + K.DST] === key[base + K.DST] &&
          records[at + K.PORTS] === key[base + K.PORTS] &&
          (!v6 || sameV6Rest(records, at, key, base))
        ) {
          return ref;
        }
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Takes a free conversation slot, expiring or evicting one when the table is full. */
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
    const roles = this.roleMask[c]!;
    const base = c * ROLES * RECORD_WORDS + R.LAST_SEEN;
    let last = 0;
    for (let role = 0; role < ROLES; role++) {
      if (roles & (1 << role)) last = Math.max(last, this.records[base + role * RECORD_WORDS]!);
    }
    return last;
  }

  private timeout(c: number, tcpTimeoutMs: number, udpTimeoutMs: number): number {
    return this.records[c * ROLES * RECORD_WORDS + R.SLOT]! >>> PROTOCOL_SHIFT === 6 ? tcpTimeoutMs : udpTimeoutMs;
  }

  /**
   * Whether the conversation of the record at `at` timed out. The record's own LAST_SEEN decides
   * the common case without touching the other roles' records.
   */
  isExpired(c: number, at: number, now: number, tcpTimeoutMs: number, udpTimeoutMs: number): boolean {
    const timeout = this.records[at + R.SLOT]! >>> PROTOCOL_SHIFT === 6 ? tcpTimeoutMs : udpTimeoutMs;
    if (now - this.records[at + R.LAST_SEEN]! <= timeout) return false;
    return now - this.lastSeen(c) > timeout;
  }

  /** Expires up to `budget` conversations after the clock hand; returns how many ended. */
  sweep(budget: number, now: number, tcpTimeoutMs: number, udpTimeoutMs: number): number {
    let ended = 0;
    for (let n = 0; n < budget; n++) {
      const c = this.hand;
      this.hand = c + 1 === this.capacity ? 0 : c + 1;
      if (this.roleMask[c] !== 0 && now - this.lastSeen(c) > this.timeout(c, tcpTimeoutMs, udpTimeoutMs)) {
        this.release(c);
        ended++;
      }
    }
    return ended;
  }

  /** Moves the time base `by` ms forward: every LAST_SEEN drops by it (not below 0). */
  rebase(by: number): void {
    const records = this.records;
    for (let at = R.LAST_SEEN; at < records.length; at += RECORD_WORDS) records[at] = Math.max(0, records[at]! - by);
  }

  /** Puts role r of conversation c (its key already in its record, `hash` = hashKey of it) into the index. */
  insert(c: number, role: number, hash: number): void {
    const at = (c * ROLES + role) * RECORD_WORDS;
    this.records[at + R.HASH] = hash;
    let i = hash & this.mask;
    while (this.index[2 * i + 1]! >= 0) i = (i + 1) & this.mask;
    this.index[2 * i] = hash;
    this.index[2 * i + 1] = c * 4 + role;
    this.roleMask[c]! |= 1 << role;
  }

  /** Removes conversation c from the index and frees its slot. */
  release(c: number): void {
    const roles = this.roleMask[c]!;
    if (roles === 0) return;
    for (let role = 0; role < ROLES; role++) {
      if (roles & (1 << role)) this.unindex(c * 4 + role, this.records[(c * ROLES + role) * RECORD_WORDS + R.HASH]!);
    }
    this.roleMask[c] = 0;
    this.free[this.freeTop++] = c;
    this.active--;
    this.onRelease(this.records[c * ROLES * RECORD_WORDS + R.SLOT]! & SLOT_MASK);
  }

  /** Takes role r of conversation c out of the index (the record at `at` keeps its key). */
  unindexRole(c: number, role: number, at: number): void {
    if ((this.roleMask[c]! & (1 << role)) === 0) return;
    this.unindex(c * 4 + role, this.records[at + R.HASH]!);
    this.roleMask[c]! &= ~(1 << role);
  }

  private unindex(ref: number, hash: number): void {
    const index = this.index;
    const mask = this.mask;
    let i = (hash | 0) & mask;
    while (index[2 * i + 1] !== ref) i = (i + 1) & mask;
    // Backward-shift deletion: pull later entries of the run into the hole when their home allows.
    let hole = i;
    let j = (i + 1) & mask;
    while (index[2 * j + 1]! >= 0) {
      const home = index[2 * j]! & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        index[2 * hole] = index[2 * j]!;
        index[2 * hole + 1] = index[2 * j + 1]!;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    index[2 * hole + 1] = -1;
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

/** Hash of the key at `words[at ..]` (IPv4 keys use only their meaningful words). Signed 32-bit. */
export function hashKey(words: Uint32Array, at: number): number {
  let h = mix(0x2545f491, words[at]!);
  h = mix(h, words[at + K.SRC]!);
  h = mix(h, words[at + K.DST]!);
  h = mix(h, words[at + K.PORTS]!);
  if ((words[at]! & META_IPV6) !== 0) {
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
  return h | 0;
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return h ^ (h >>> 15);
}
