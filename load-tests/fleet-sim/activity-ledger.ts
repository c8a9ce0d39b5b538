import { ReportWriter } from './report-writer';

/** The five counters a report carries per rule (and the controller sums), as column indexes. */
export const PACKETS_IN = 0;
export const BYTES_IN = 1;
export const PACKETS_OUT = 2;
export const BYTES_OUT = 3;
export const CONVERSATIONS_NEW = 4;
const COUNTERS = 5;

/** A report that left on a stream and waits for the controller's ActivityAck. */
export interface SentReport {
  seq: number;
  periodEndMs: number;
  /** Set the first time the report went out (a resend after a reconnect keeps it). */
  firstSentAtMs: number;
  /** The encoded AgentMessage as a gRPC message, prefix included (sent again as is after a reconnect). */
  frame: Buffer;
  /** Rule samples in it. */
  samples: number;
  /**
   * The first `samples` entries: the ledger slot of each sample and its counters (sample × 5 +
   * counter). The ledger's own bookkeeping: reused for a later report once this one is stored.
   */
  slots: Int32Array;
  counters: Float64Array;
}

/** At most this many spare per-report arrays kept per agent (it has at most 8 unacked reports by default). */
const MAX_SPARE = 10;

/**
 * One simulated agent's activity bookkeeping, with the agent's guarantees (agent/src/control/
 * reporter.ts): a seq only grows and never repeats for different data, a report is kept until the
 * controller stored it (ActivityAck, or a Welcome whose stored seq covers it), and traffic seen
 * while disconnected is not lost: the period simply runs on until a stream is back.
 *
 * Runs for every sample of a fleet at 200,000 samples/s in the process that measures the
 * controller, so it keeps counters in typed columns by slot (a rule's slot never changes) and
 * writes the report's protobuf bytes itself (report-writer.ts): no object per sample.
 */
export class ActivityLedger {
  private nextSeq = 1;
  private periodStartMs: number;
  /** Rule id per slot, and its UTF-8 bytes (written into every report); slots are only ever added. */
  private readonly ruleIds: string[] = [];
  private readonly ruleIdBytes: Buffer[] = [];
  private readonly slotOf = new Map<string, number>();
  /** The last rule list asked about and its slots (a list is the same array from tick to tick). */
  private lastRules: readonly string[] | undefined;
  private lastSlots = new Int32Array(0);
  /** Unreported traffic per slot (slot × 5 + counter), its conversationsActive and lastHitMs. */
  private unreported = new Float64Array(0);
  private active = new Float64Array(0);
  private lastHit = new Float64Array(0);
  private touched = new Uint8Array(0);
  private touchedCount = 0;
  /** Stored (acked) sums per slot, and over every rule. */
  private stored = new Float64Array(0);
  readonly storedTotals = new Float64Array(COUNTERS);
  private unackedReports: SentReport[] = [];
  /** Arrays of stored reports, for the next reports (no allocation per report at 4,000 reports/s). */
  private readonly spare: { slots: Int32Array; counters: Float64Array }[] = [];

  constructor(nowMs: number) {
    this.periodStartMs = nowMs;
  }

  get owed(): number {
    return this.unackedReports.length + (this.touchedCount > 0 ? 1 : 0);
  }

  /** Reports sent and not yet acked. */
  get unacked(): number {
    return this.unackedReports.length;
  }

  /** The ledger slot of each rule of `ruleIds` (the same array again costs nothing). */
  slots(ruleIds: readonly string[]): Int32Array {
    if (ruleIds === this.lastRules) return this.lastSlots;
    const slots = new Int32Array(ruleIds.length);
    for (let k = 0; k < ruleIds.length; k++) {
      let slot = this.slotOf.get(ruleIds[k]!);
      if (slot === undefined) {
        slot = this.ruleIds.push(ruleIds[k]!) - 1;
        this.ruleIdBytes.push(Buffer.from(ruleIds[k]!, 'utf8'));
        this.slotOf.set(ruleIds[k]!, slot);
        this.grow();
      }
      slots[k] = slot;
    }
    this.lastRules = ruleIds;
    this.lastSlots = slots;
    return slots;
  }

  /** Adds one period's traffic on the rule in `slot` (what the data plane's counters would have grown by). */
  record(slot: number, packetsIn: number, bytesIn: number, packetsOut: number, bytesOut: number, conversationsNew: number, conversationsActive: number, lastHitMs: number): void {
    const u = this.unreported;
    const at = slot * COUNTERS;
    u[at + PACKETS_IN] += packetsIn;
    u[at + BYTES_IN] += bytesIn;
    u[at + PACKETS_OUT] += packetsOut;
    u[at + BYTES_OUT] += bytesOut;
    u[at + CONVERSATIONS_NEW] += conversationsNew;
    this.active[slot] = conversationsActive;
    if (lastHitMs > this.lastHit[slot]!) this.lastHit[slot] = lastHitMs;
    if (this.touched[slot] === 0) {
      this.touched[slot] = 1;
      this.touchedCount++;
    }
  }

  /** Ends the period: the report to send now, or nothing when no traffic was recorded. */
  cut(nowMs: number): SentReport | undefined {
    if (this.touchedCount === 0) return undefined;
    const samples = this.touchedCount;
    const { slots, counters } = this.arrays(samples);
    const seq = this.nextSeq++;
    const w = ReportWriter.shared;
    w.begin(seq, this.periodStartMs, nowMs);
    const u = this.unreported;
    // Per sample: plain loads and stores (no subarray views, no fill calls: this runs 200,000 times a second).
    for (let slot = 0, i = 0; slot < this.ruleIds.length; slot++) {
      if (this.touched[slot] === 0) continue;
      const at = slot * COUNTERS;
      const to = i * COUNTERS;
      const pIn = u[at]!, bIn = u[at + 1]!, pOut = u[at + 2]!, bOut = u[at + 3]!, conv = u[at + 4]!;
      w.rule(this.ruleIdBytes[slot]!, pIn, bIn, pOut, bOut, this.active[slot]!, conv, this.lastHit[slot]!);
      slots[i] = slot;
      counters[to] = pIn;
      counters[to + 1] = bIn;
      counters[to + 2] = pOut;
      counters[to + 3] = bOut;
      counters[to + 4] = conv;
      u[at] = u[at + 1] = u[at + 2] = u[at + 3] = u[at + 4] = 0;
      this.lastHit[slot] = 0;
      this.touched[slot] = 0;
      i++;
    }
    this.touchedCount = 0;
    this.periodStartMs = nowMs;
    const sent: SentReport = { seq, periodEndMs: nowMs, firstSentAtMs: nowMs, frame: w.finish(), samples, slots, counters };
    this.unackedReports.push(sent);
    return sent;
  }

  /**
   * A new stream was welcomed: reports at or below the controller's stored seq are done (returned,
   * and counted as stored), the rest must be sent again (same seq: the controller counts each seq once).
   */
  welcomed(seqStored: number): { stored: SentReport[]; resend: SentReport[] } {
    this.nextSeq = Math.max(this.nextSeq, seqStored + 1);
    const stored = this.unackedReports.filter((s) => s.seq <= seqStored);
    this.unackedReports = this.unackedReports.filter((s) => s.seq > seqStored);
    for (const s of stored) this.addStored(s);
    return { stored, resend: this.unackedReports };
  }

  /** ActivityAck(seq): that report is durable at the controller (counted as stored). */
  acked(seq: number): SentReport | undefined {
    const i = this.unackedReports.findIndex((s) => s.seq === seq);
    if (i < 0) return undefined;
    const sent = this.unackedReports.splice(i, 1)[0]!;
    this.addStored(sent);
    return sent;
  }

  /** What the controller has stored so far, per rule id. */
  storedByRule(): Map<string, { packetsIn: number; bytesIn: number; packetsOut: number; bytesOut: number; conversations: number }> {
    const out = new Map<string, { packetsIn: number; bytesIn: number; packetsOut: number; bytesOut: number; conversations: number }>();
    for (let slot = 0; slot < this.ruleIds.length; slot++) {
      const at = slot * COUNTERS;
      const s = this.stored;
      if (s[at] === 0 && s[at + 1] === 0 && s[at + 2] === 0 && s[at + 3] === 0 && s[at + 4] === 0) continue;
      out.set(this.ruleIds[slot]!, { packetsIn: s[at]!, bytesIn: s[at + 1]!, packetsOut: s[at + 2]!, bytesOut: s[at + 3]!, conversations: s[at + 4]! });
    }
    return out;
  }

  private arrays(samples: number): { slots: Int32Array; counters: Float64Array } {
    const spare = this.spare.pop();
    if (spare && spare.slots.length >= samples) return spare;
    return { slots: new Int32Array(samples), counters: new Float64Array(samples * COUNTERS) };
  }

  /** Counts a report as stored; its arrays then serve a later report (not before the next `cut`). */
  private addStored(sent: SentReport): void {
    for (let i = 0; i < sent.samples; i++) {
      const at = sent.slots[i]! * COUNTERS;
      for (let c = 0; c < COUNTERS; c++) {
        const v = sent.counters[i * COUNTERS + c]!;
        this.stored[at + c] += v;
        this.storedTotals[c] += v;
      }
    }
    if (this.spare.length < MAX_SPARE) this.spare.push({ slots: sent.slots, counters: sent.counters });
  }

  /** Room for one more slot in every per-slot column. */
  private grow(): void {
    const n = this.ruleIds.length;
    if (this.active.length >= n) return;
    const size = Math.max(8, n * 2);
    const grown = <T extends Float64Array | Uint8Array>(old: T, length: number): T => {
      const next = new (old.constructor as new (n: number) => T)(length);
      next.set(old);
      return next;
    };
    this.unreported = grown(this.unreported, size * COUNTERS);
    this.stored = grown(this.stored, size * COUNTERS);
    this.active = grown(this.active, size);
    this.lastHit = grown(this.lastHit, size);
    this.touched = grown(this.touched, size);
  }
}
