import type { ActivityReport, RuleActivity } from '@portfleet/proto/gen/agent';

/** A report that left on a stream and waits for the controller's ActivityAck. */
export interface SentReport {
  report: ActivityReport;
  /** Set the first time the report went out (a resend after a reconnect keeps it). */
  firstSentAtMs: number;
}

/**
 * One simulated agent's activity bookkeeping, with the agent's guarantees (agent/src/control/
 * reporter.ts): a seq only grows and never repeats for different data, a report is kept until the
 * controller stored it (ActivityAck, or a Welcome whose stored seq covers it), and traffic seen
 * while disconnected is not lost: the period simply runs on until a stream is back.
 */
export class ActivityLedger {
  private nextSeq = 1;
  private periodStartMs: number;
  private unreported = new Map<string, RuleActivity>();
  private unackedReports: SentReport[] = [];

  constructor(nowMs: number) {
    this.periodStartMs = nowMs;
  }

  get owed(): number {
    return this.unackedReports.length + (this.unreported.size > 0 ? 1 : 0);
  }

  /** Reports sent and not yet acked. */
  get unacked(): number {
    return this.unackedReports.length;
  }

  /** Adds one period's traffic on a rule (what the data plane's counters would have grown by). */
  record(ruleId: string, delta: Omit<RuleActivity, 'ruleId'>): void {
    const sum = this.unreported.get(ruleId);
    if (!sum) {
      // Once per sample at fleet rate: a literal, not a spread (the simulator shares the cores with what it measures).
      this.unreported.set(ruleId, {
        ruleId,
        packetsIn: delta.packetsIn,
        bytesIn: delta.bytesIn,
        packetsOut: delta.packetsOut,
        bytesOut: delta.bytesOut,
        conversationsActive: delta.conversationsActive,
        conversationsNew: delta.conversationsNew,
        lastHitMs: delta.lastHitMs,
      });
      return;
    }
    sum.packetsIn += delta.packetsIn;
    sum.bytesIn += delta.bytesIn;
    sum.packetsOut += delta.packetsOut;
    sum.bytesOut += delta.bytesOut;
    sum.conversationsNew += delta.conversationsNew;
    sum.conversationsActive = delta.conversationsActive;
    sum.lastHitMs = Math.max(sum.lastHitMs, delta.lastHitMs);
  }

  /** Ends the period: the report to send now, or nothing when no traffic was recorded. */
  cut(nowMs: number): ActivityReport | undefined {
    if (this.unreported.size === 0) return undefined;
    const report: ActivityReport = { seq: this.nextSeq++, periodStartMs: this.periodStartMs, periodEndMs: nowMs, rules: [...this.unreported.values()] };
    this.unreported = new Map();
    this.periodStartMs = nowMs;
    this.unackedReports.push({ report, firstSentAtMs: nowMs });
    return report;
  }

  /**
   * A new stream was welcomed: reports at or below the controller's stored seq are done (returned),
   * the rest must be sent again (same seq: the controller counts each seq once).
   */
  welcomed(seqStored: number): { stored: SentReport[]; resend: ActivityReport[] } {
    this.nextSeq = Math.max(this.nextSeq, seqStored + 1);
    const stored = this.unackedReports.filter((s) => s.report.seq <= seqStored);
    this.unackedReports = this.unackedReports.filter((s) => s.report.seq > seqStored);
    return { stored, resend: this.unackedReports.map((s) => s.report) };
  }

  /** ActivityAck(seq): that report is durable at the controller. */
  acked(seq: number): SentReport | undefined {
    const i = this.unackedReports.findIndex((s) => s.report.seq === seq);
    return i < 0 ? undefined : this.unackedReports.splice(i, 1)[0];
  }
}
