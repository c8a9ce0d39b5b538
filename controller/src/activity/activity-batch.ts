import type { ActivityReportInput } from './activity.service';

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
 */
export function planBatch(reports: readonly QueuedReport[], storedSeqs: ReadonlyMap<string, number>, bucketOf: (periodEndMs: number) => number): BatchPlan {
  const highest = new Map(storedSeqs);
  const moved = new Set<string>();
  const rows = new Map<string, number>();
  const buckets: BucketColumns = { agentIds: [], ruleIds: [], bucketStartsMs: [], packetsIn: [], bytesIn: [], packetsOut: [], bytesOut: [], conversations: [], lastHitMs: [] };
  const outcomes = reports.map(({ agentId, report }): ReportOutcome => {
    const stored = highest.get(agentId);
    if (stored === undefined) return 'unknown_agent';
    if (report.seq <= stored) return 'duplicate';
    highest.set(agentId, report.seq);
    moved.add(agentId);
    const bucketStart = bucketOf(report.periodEndMs);
    for (const r of report.rules) {
      const key = `${agentId}\u0000${r.ruleId}\u0000${bucketStart}`;
      let row = rows.get(key);
      if (row === undefined) {
        row = buckets.agentIds.push(agentId) - 1;
        rows.set(key, row);
        buckets.ruleIds.push(r.ruleId);
        buckets.bucketStartsMs.push(bucketStart);
        buckets.packetsIn.push(0);
        buckets.bytesIn.push(0);
        buckets.packetsOut.push(0);
        buckets.bytesOut.push(0);
        buckets.conversations.push(0);
        buckets.lastHitMs.push(0);
      }
      buckets.packetsIn[row]! += r.packetsIn;
      buckets.bytesIn[row]! += r.bytesIn;
      buckets.packetsOut[row]! += r.packetsOut;
      buckets.bytesOut[row]! += r.bytesOut;
      buckets.conversations[row]! += r.conversationsNew;
      buckets.lastHitMs[row] = Math.max(buckets.lastHitMs[row]!, r.lastHitMs);
    }
    return 'stored';
  });
  const agentIds = [...moved].sort(byText);
  return { outcomes, buckets: sortedRows(buckets), watermarks: { agentIds, seqs: agentIds.map((id) => highest.get(id)!) } };
}

/**
 * The rows ordered by (agent id, rule id, bucket start). Ids are compared as plain strings: what
 * matters is that every writer uses the same order (agent ids are lowercase text, so this is also
 * PostgreSQL's uuid order, the one the agents rows are locked in).
 */
function sortedRows(b: BucketColumns): BucketColumns {
  const order = b.agentIds.map((_, i) => i);
  order.sort((i, j) => byText(b.agentIds[i]!, b.agentIds[j]!) || byText(b.ruleIds[i]!, b.ruleIds[j]!) || b.bucketStartsMs[i]! - b.bucketStartsMs[j]!);
  const pick = <T>(column: T[]) => order.map((i) => column[i]!);
  return {
    agentIds: pick(b.agentIds),
    ruleIds: pick(b.ruleIds),
    bucketStartsMs: pick(b.bucketStartsMs),
    packetsIn: pick(b.packetsIn),
    bytesIn: pick(b.bytesIn),
    packetsOut: pick(b.packetsOut),
    bytesOut: pick(b.bytesOut),
    conversations: pick(b.conversations),
    lastHitMs: pick(b.lastHitMs),
  };
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
