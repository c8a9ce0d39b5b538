import type { ActivityReport, RuleActivity } from '@portfleet/proto/gen/agent';
import type { Logger } from 'pino';
import type { ActivityState, PendingReport, StateStore } from './state-store';

/** Cumulative counters of one rule as the engine keeps them. */
export interface RuleCounters {
  ruleId: string;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversationsActive: number;
  conversationsTotal: number;
  lastHitMs: number;
}

export interface ReporterOptions {
  counters: () => readonly RuleCounters[];
  store: StateStore;
  /** Sends on the live stream; false when there is none. */
  send: (report: ActivityReport) => boolean;
  log: Logger;
  intervalMs: number;
  /** Reports kept while unacknowledged; beyond it the oldest unsent ones are merged. */
  maxPending?: number;
}

export const DEFAULT_MAX_PENDING_REPORTS = 1_000;

/**
 * Turns the engine's cumulative counters into per-period ActivityReports with a sequence number
 * that only grows (it survives restarts), and keeps every report on disk until the controller has
 * acknowledged it, so a report is neither lost in an outage nor counted twice after one.
 */
export class ActivityReporter {
  private state: ActivityState = { nextSeq: 1, pending: [] };
  /** The counters at the end of the last period, by rule id. */
  private readonly last = new Map<string, RuleCounters>();
  private periodStartMs = Date.now();
  private timer: NodeJS.Timeout | undefined;
  /** Seqs the current stream has carried (reset on every new stream). */
  private readonly sentOnStream = new Set<number>();

  constructor(private readonly options: ReporterOptions) {}

  /** Loads what is still owed from disk; a corrupt file is set aside (the next Welcome re-anchors seq). */
  async load(): Promise<void> {
    const { value, quarantined } = await this.options.store.readOrQuarantine('activity');
    if (quarantined) {
      this.options.log.error(
        { event: 'state.corrupt', file: quarantined.error.file, reason: quarantined.error.reason, movedTo: quarantined.movedTo },
        'the activity file is corrupt; unsent reports in it are lost, numbering resumes after the controller\'s last stored seq',
      );
    }
    if (value) this.state = value;
  }

  start(): void {
    this.periodStartMs = Date.now();
    this.timer ??= setInterval(() => void this.tick(), this.options.intervalMs);
  }

  /** Ends the current period: a report if anything happened, kept until acked, sent when possible. */
  async tick(nowMs = Date.now()): Promise<void> {
    const rules = this.deltas(nowMs);
    const startMs = this.periodStartMs;
    this.periodStartMs = nowMs;
    if (rules.length === 0) return;
    const report: PendingReport = { seq: this.state.nextSeq++, periodStartMs: startMs, periodEndMs: nowMs, sent: false, rules };
    this.state.pending.push(report);
    this.mergeOverflow();
    this.sendUnsent();
    await this.persist();
  }

  /**
   * A new stream: forget what the controller already stored, renumber reports that never left
   * (they may collide with numbers the controller has seen if local state was lost) and send
   * everything still owed, oldest first.
   */
  async onConnected(seqStored: number): Promise<void> {
    // Only a report that left can be stored; one that never left keeps its data and gets a new seq.
    const pending = this.state.pending.filter((r) => !(r.sent && r.seq <= seqStored));
    let highest = seqStored;
    for (const report of pending) {
      if (report.sent) highest = Math.max(highest, report.seq);
      else if (report.seq <= highest) report.seq = highest + 1;
      highest = Math.max(highest, report.seq);
    }
    this.state = { nextSeq: Math.max(this.state.nextSeq, highest + 1), pending };
    this.sentOnStream.clear();
    this.sendUnsent();
    await this.persist();
  }

  /** The controller stored `seq`; the stream is ordered, so everything sent before it is stored too. */
  async onAck(seq: number): Promise<void> {
    const before = this.state.pending.length;
    this.state.pending = this.state.pending.filter((r) => !(this.sentOnStream.has(r.seq) && r.seq <= seq));
    if (this.state.pending.length !== before) await this.persist();
  }

  /** Ends the last period and writes everything down (shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.tick();
    await this.options.store.flush();
  }

  get owed(): readonly PendingReport[] {
    return this.state.pending;
  }

  private deltas(nowMs: number): RuleActivity[] {
    const rules: RuleActivity[] = [];
    const seen = new Set<string>();
    for (const now of this.options.counters()) {
      seen.add(now.ruleId);
      const before = this.last.get(now.ruleId);
      this.last.set(now.ruleId, { ...now });
      // Counters that went down were reset by a re-apply: everything since then is new.
      const reset = before !== undefined && (now.packetsIn < before.packetsIn || now.packetsOut < before.packetsOut || now.conversationsTotal < before.conversationsTotal);
      const base = before && !reset ? before : undefined;
      const delta: RuleActivity = {
        ruleId: now.ruleId,
        packetsIn: now.packetsIn - (base?.packetsIn ?? 0),
        bytesIn: now.bytesIn - (base?.bytesIn ?? 0),
        packetsOut: now.packetsOut - (base?.packetsOut ?? 0),
        bytesOut: now.bytesOut - (base?.bytesOut ?? 0),
        conversationsActive: now.conversationsActive,
        conversationsNew: now.conversationsTotal - (base?.conversationsTotal ?? 0),
        lastHitMs: 0,
      };
      const moved = delta.packetsIn + delta.packetsOut + delta.conversationsNew > 0;
      if (moved) delta.lastHitMs = Math.min(now.lastHitMs || nowMs, nowMs);
      if (moved || now.conversationsActive !== (before?.conversationsActive ?? 0)) rules.push(delta);
    }
    for (const ruleId of this.last.keys()) if (!seen.has(ruleId)) this.last.delete(ruleId);
    return rules;
  }

  /** Bounded: the two oldest reports that never left are folded into one (nothing is dropped). */
  private mergeOverflow(): void {
    const max = this.options.maxPending ?? DEFAULT_MAX_PENDING_REPORTS;
    const pending = this.state.pending;
    while (pending.length > max) {
      const i = pending.findIndex((r, k) => !r.sent && pending[k + 1] !== undefined && !pending[k + 1]!.sent);
      if (i < 0) return;
      pending.splice(i, 2, merge(pending[i]!, pending[i + 1]!));
    }
  }

  /** In seq order, what this stream has not carried yet; stops at the first that cannot go out. */
  private sendUnsent(): void {
    for (const report of this.state.pending) {
      if (this.sentOnStream.has(report.seq)) continue;
      if (!this.options.send(toWire(report))) return;
      this.sentOnStream.add(report.seq);
      report.sent = true;
    }
  }

  private persist(): Promise<void> {
    return this.options.store.writeActivity(this.state).catch((error: Error) => {
      this.options.log.error({ event: 'state.write_failed', file: 'activity.json', error: error.message }, 'could not save activity reports');
    });
  }
}

/** One report covering both periods, under the later one's seq (the earlier seq is simply unused). */
function merge(older: PendingReport, newer: PendingReport): PendingReport {
  const byRule = new Map<string, RuleActivity>();
  for (const r of older.rules) byRule.set(r.ruleId, { ...r });
  for (const r of newer.rules) {
    const o = byRule.get(r.ruleId);
    byRule.set(
      r.ruleId,
      o
        ? {
            ruleId: r.ruleId,
            packetsIn: o.packetsIn + r.packetsIn,
            bytesIn: o.bytesIn + r.bytesIn,
            packetsOut: o.packetsOut + r.packetsOut,
            bytesOut: o.bytesOut + r.bytesOut,
            conversationsActive: r.conversationsActive,
            conversationsNew: o.conversationsNew + r.conversationsNew,
            lastHitMs: Math.max(o.lastHitMs, r.lastHitMs),
          }
        : { ...r },
    );
  }
  return { seq: newer.seq, periodStartMs: older.periodStartMs, periodEndMs: newer.periodEndMs, sent: false, rules: [...byRule.values()] };
}

function toWire(report: PendingReport): ActivityReport {
  return { seq: report.seq, periodStartMs: report.periodStartMs, periodEndMs: report.periodEndMs, rules: report.rules };
}
