/**
 * Per-rule counters in typed-array columns indexed by a slot per rule id. Slots outlive rule
 * lists: a rule that keeps its id across applies keeps counting, and a removed rule's slot stays
 * until its last conversation ends. Counts are Float64 so byte counts do not wrap.
 */
export interface RuleCounters {
  ruleId: string;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversationsActive: number;
  conversationsTotal: number;
  /** `nowMs` of the last packet the rule handled; 0 if none yet. */
  lastHitMs: number;
}

/** Layout of `RuleCounterTable.columns`: WORDS doubles per counter slot, one cache line. */
export const enum COUNTER {
  /** Packets then bytes in; OUT added to them for out. */
  PACKETS = 0,
  BYTES = 1,
  OUT = 2,
  LAST_HIT = 4,
  ACTIVE = 5,
  TOTAL = 6,
  /** `ruleIndex` of the slot again, so the packet path reads one array. */
  RULE = 7,
  WORDS = 8,
}

export class RuleCounterTable {
  /** Per slot: COUNTER.WORDS doubles (one array, so the packet path touches one object). */
  columns = new Float64Array(0);
  /** Index in the current rule list of the rule holding the slot, -1 if it is not in the list. */
  ruleIndex = new Int16Array(0);
  private ids: (string | null)[] = [];

  /** Counts `packets` / `bytes` in one direction for slot `slot` (paths other than the common one). */
  add(slot: number, outbound: boolean, packets: number, bytes: number, nowMs: number): void {
    const at = slot * COUNTER.WORDS + (outbound ? COUNTER.OUT : 0);
    this.columns[at + COUNTER.PACKETS]! += packets;
    this.columns[at + COUNTER.BYTES]! += bytes;
    this.columns[slot * COUNTER.WORDS + COUNTER.LAST_HIT] = nowMs;
  }

  /** Conversations of slot `slot` that are alive now; `by` +1 when one opens, -1 when one ends. */
  conversationChange(slot: number, by: number): void {
    this.columns[slot * COUNTER.WORDS + COUNTER.ACTIVE]! += by;
    if (by > 0) this.columns[slot * COUNTER.WORDS + COUNTER.TOTAL]! += by;
  }

  /** Conversations opened elsewhere (not alive in the engine's table): counted in TOTAL only. */
  conversationsOpened(slot: number, count: number): void {
    this.columns[slot * COUNTER.WORDS + COUNTER.TOTAL]! += count;
  }

  /** The slot holding rule `ruleId`, -1 if none. */
  slotOf(ruleId: string): number {
    return this.ids.indexOf(ruleId);
  }

  /**
   * Binds the rules of a new list to slots (same id → same slot) and frees slots whose rule left
   * and whose conversations all ended. Returns the slot of each rule, in order.
   */
  bind(ruleIds: readonly string[], ruleIndexes: readonly number[]): Int32Array {
    const slotOf = new Map<string, number>();
    this.ids.forEach((id, slot) => {
      if (id !== null) slotOf.set(id, slot);
    });
    const keep = new Set(ruleIds);
    for (const [id, slot] of slotOf) {
      if (!keep.has(id) && this.active(slot) === 0) {
        this.ids[slot] = null;
        slotOf.delete(id);
      }
    }
    const slots = new Int32Array(ruleIds.length);
    ruleIds.forEach((id, i) => {
      let slot = slotOf.get(id);
      if (slot === undefined) {
        slot = this.ids.indexOf(null);
        if (slot < 0) slot = this.grow();
        this.ids[slot] = id;
        this.columns.fill(0, slot * COUNTER.WORDS, (slot + 1) * COUNTER.WORDS);
        slotOf.set(id, slot);
      }
      slots[i] = slot;
    });
    this.ruleIndex.fill(-1);
    ruleIds.forEach((_, i) => (this.ruleIndex[slots[i]!] = ruleIndexes[i]!));
    this.ruleIndex.forEach((index, slot) => (this.columns[slot * COUNTER.WORDS + COUNTER.RULE] = index));
    return slots;
  }

  /** Current rules and rules of older lists that still hold live conversations. */
  snapshot(): RuleCounters[] {
    const list: RuleCounters[] = [];
    const c = this.columns;
    this.ids.forEach((ruleId, s) => {
      if (ruleId === null || (this.ruleIndex[s] === -1 && this.active(s) === 0)) return;
      const at = s * COUNTER.WORDS;
      list.push({
        ruleId,
        packetsIn: c[at + COUNTER.PACKETS]!,
        bytesIn: c[at + COUNTER.BYTES]!,
        packetsOut: c[at + COUNTER.OUT + COUNTER.PACKETS]!,
        bytesOut: c[at + COUNTER.OUT + COUNTER.BYTES]!,
        conversationsActive: c[at + COUNTER.ACTIVE]!,
        conversationsTotal: c[at + COUNTER.TOTAL]!,
        lastHitMs: c[at + COUNTER.LAST_HIT]!,
      });
    });
    return list;
  }

  private active(slot: number): number {
    return this.columns[slot * COUNTER.WORDS + COUNTER.ACTIVE]!;
  }

  private grow(): number {
    const slot = this.ids.length;
    const size = Math.max(16, slot * 2);
    const columns = new Float64Array(size * COUNTER.WORDS);
    columns.set(this.columns);
    this.columns = columns;
    const index = new Int16Array(size).fill(-1);
    index.set(this.ruleIndex);
    this.ruleIndex = index;
    for (let i = slot; i < size; i++) this.ids.push(null);
    return slot;
  }
}
