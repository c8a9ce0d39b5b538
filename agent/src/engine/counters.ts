/**
 * Per-rule counters in typed-array columns indexed by a slot per rule id. Slots outlive rule
 * lists: a rule that keeps its id across applies keeps counting, and a removed rule's slot stays
 * until its last conversation ends. Columns are Float64 so byte counts do not wrap.
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

export class RuleCounterTable {
  packetsIn = new Float64Array(0);
  bytesIn = new Float64Array(0);
  packetsOut = new Float64Array(0);
  bytesOut = new Float64Array(0);
  active = new Float64Array(0);
  total = new Float64Array(0);
  lastHit = new Float64Array(0);
  /** Index in the current rule list of the rule holding the slot, -1 if it is not in the list. */
  ruleIndex = new Int16Array(0);
  private ids: (string | null)[] = [];

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
      if (!keep.has(id) && this.active[slot] === 0) {
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
        this.reset(slot);
        slotOf.set(id, slot);
      }
      slots[i] = slot;
    });
    this.ruleIndex.fill(-1);
    ruleIds.forEach((_, i) => (this.ruleIndex[slots[i]!] = ruleIndexes[i]!));
    return slots;
  }

  /** Current rules and rules of older lists that still hold live conversations. */
  snapshot(): RuleCounters[] {
    const list: RuleCounters[] = [];
    this.ids.forEach((ruleId, s) => {
      if (ruleId === null || (this.ruleIndex[s] === -1 && this.active[s] === 0)) return;
      list.push({
        ruleId,
        packetsIn: this.packetsIn[s]!,
        bytesIn: this.bytesIn[s]!,
        packetsOut: this.packetsOut[s]!,
        bytesOut: this.bytesOut[s]!,
        conversationsActive: this.active[s]!,
        conversationsTotal: this.total[s]!,
        lastHitMs: this.lastHit[s]!,
      });
    });
    return list;
  }

  private reset(slot: number): void {
    for (const column of [this.packetsIn, this.bytesIn, this.packetsOut, this.bytesOut, this.active, this.total, this.lastHit]) {
      column[slot] = 0;
    }
  }

  private grow(): number {
    const slot = this.ids.length;
    const size = Math.max(16, slot * 2);
    const widen = (a: Float64Array) => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.packetsIn = widen(this.packetsIn);
    this.bytesIn = widen(this.bytesIn);
    this.packetsOut = widen(this.packetsOut);
    this.bytesOut = widen(this.bytesOut);
    this.active = widen(this.active);
    this.total = widen(this.total);
    this.lastHit = widen(this.lastHit);
    const index = new Int16Array(size).fill(-1);
    index.set(this.ruleIndex);
    this.ruleIndex = index;
    for (let i = slot; i < size; i++) this.ids.push(null);
    return slot;
  }
}
