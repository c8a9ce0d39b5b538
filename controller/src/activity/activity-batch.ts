import type { ActivityReportInput, RuleCounters } from './activity.service';

export interface QueuedReport {
  agentId: string;
  report: ActivityReportInput;
}

/** What became of one report of a batch. */
export type ReportOutcome = 'stored' | 'duplicate' | 'unknown_agent';

/** Bucket rows as columns, the shape `unnest($1::uuid[], $2::text[], …)` takes. */
export interface BucketColumns {
  agentIds: string[];
  ruleIds: string[];
  /** Unix ms. */
  bucketStartsMs: number[];
  packetsIn: number[];
  bytesIn: number[];
  packetsOut: number[];
  bytesOut: number[];
  conversations: number[];
  /** Unix ms, 0 = no hit. */
  lastHitMs: number[];
}

export interface BatchPlan {
  /** One per report, in the batch's order. */
  outcomes: ReportOutcome[];
  /**
   * The new reports' samples summed per (agent, rule, bucket): each key once, as an upsert needs,
   * sorted by that key, so every writer on every replica takes bucket row locks in one order.
   */
  buckets: BucketColumns;
  /** The highest seq now stored, per agent that has a new report, in agent id order. */
  watermarks: { agentIds: string[]; seqs: number[] };
}

/**
 * Decides, for reports in arrival order and the seqs already stored per agent, which reports are
 * new: one agent's reports arrive in seq order (a resend repeats seqs already seen), so a report is
 * new exactly when its seq is above everything stored or accepted before it. Agents missing from
 * `storedSeqs` no longer exist. `bucketOf` maps a period end to its bucket start (ms).
 *
 * Runs for every sample at fleet rate, so it works agent by agent: a sort of the agents, then per
 * agent a sort of its few samples that also brings equal keys together (no sort of every row of
 * the batch by three keys, no key strings).
 */
export function planBatch(reports: readonly QueuedReport[], storedSeqs: ReadonlyMap<string, number>, bucketOf: (periodEndMs: number) => number): BatchPlan {
  const highest = new Map(storedSeqs);
  const newReports = new Map<string, ActivityReportInput[]>();
  const outcomes = reports.map(({ agentId, report }): ReportOutcome => {
    const stored = highest.get(agentId);
    if (stored === undefined) return 'unknown_agent';
    if (report.seq <= stored) return 'duplicate';
    highest.set(agentId, report.seq);
    const list = newReports.get(agentId);
    if (list) list.push(report);
    else newReports.set(agentId, [report]);
    return 'stored';
  });
  const agentIds = [...newReports.keys()].sort(byText);
  const buckets = emptyColumns();
  const rows = new AgentRows();
  for (const agentId of agentIds) rows.sum(newReports.get(agentId)!, bucketOf).appendTo(buckets, agentId);
  return { outcomes, buckets, watermarks: { agentIds, seqs: agentIds.map((id) => highest.get(id)!) } };
}

function emptyColumns(): BucketColumns {
  return { agentIds: [], ruleIds: [], bucketStartsMs: [], packetsIn: [], bytesIn: [], packetsOut: [], bytesOut: [], conversations: [], lastHitMs: [] };
}

/**
 * One agent's samples, sorted by (rule, bucket) with equal keys summed (an agent with several
 * reports in the batch, or a rule twice in a report). Reused from agent to agent.
 */
class AgentRows {
  private readonly samples: RuleCounters[] = [];
  private readonly bucketsMs: number[] = [];
  private readonly order: number[] = [];

  sum(reports: readonly ActivityReportInput[], bucketOf: (periodEndMs: number) => number): this {
    const { samples, bucketsMs, order } = this;
    samples.length = bucketsMs.length = order.length = 0;
    for (const report of reports) {
      const bucket = bucketOf(report.periodEndMs);
      for (const r of report.rules) {
        order.push(samples.push(r) - 1);
        bucketsMs.push(bucket);
      }
    }
    order.sort((i, j) => byText(samples[i]!.ruleId, samples[j]!.ruleId) || bucketsMs[i]! - bucketsMs[j]!);
    return this;
  }

  appendTo(out: BucketColumns, agentId: string): void {
    const { samples, bucketsMs, order } = this;
    let last = -1;
    for (const i of order) {
      const s = samples[i]!;
      if (last >= 0 && out.ruleIds[last] === s.ruleId && out.bucketStartsMs[last] === bucketsMs[i]) {
        out.packetsIn[last] += s.packetsIn;
        out.bytesIn[last] += s.bytesIn;
        out.packetsOut[last] += s.packetsOut;
        out.bytesOut[last] += s.bytesOut;
        out.conversations[last] += s.conversationsNew;
        out.lastHitMs[last] = Math.max(out.lastHitMs[last]!, s.lastHitMs);
        continue;
      }
      last = out.agentIds.push(agentId) - 1;
      out.ruleIds.push(s.ruleId);
      out.bucketStartsMs.push(bucketsMs[i]!);
      out.packetsIn.push(s.packetsIn);
      out.bytesIn.push(s.bytesIn);
      out.packetsOut.push(s.packetsOut);
      out.bytesOut.push(s.bytesOut);
      out.conversations.push(s.conversationsNew);
      out.lastHitMs.push(s.lastHitMs);
    }
  }
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
