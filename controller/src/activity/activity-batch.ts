import type { ActivityReportInput } from './activity.service';

export interface QueuedReport {
  agentId: string;
  report: ActivityReportInput;
}

/** What became of one report of a batch. */
export type ReportOutcome = 'stored' | 'duplicate' | 'unknown_agent';

export interface BatchPlan {
  /** One per report, in the batch's order. */
  outcomes: ReportOutcome[];
  /** The reports to store (each becomes one row of activity_raw_reports), in the batch's order. */
  stored: QueuedReport[];
  /** The highest seq now stored, per agent that has a new report, in agent id order. */
  watermarks: { agentIds: string[]; seqs: number[] };
}

/**
 * Decides, for reports in arrival order and the seqs already stored per agent, which reports are
 * new: one agent's reports arrive in seq order (a resend repeats seqs already seen), so a report is
 * new exactly when its seq is above everything stored or accepted before it. Agents missing from
 * `storedSeqs` no longer exist. Nothing per sample: a new report is stored as it came.
 */
export function planBatch(reports: readonly QueuedReport[], storedSeqs: ReadonlyMap<string, number>): BatchPlan {
  const highest = new Map(storedSeqs);
  const moved = new Set<string>();
  const stored: QueuedReport[] = [];
  const outcomes = reports.map((queued): ReportOutcome => {
    const { agentId, report } = queued;
    const seq = highest.get(agentId);
    if (seq === undefined) return 'unknown_agent';
    if (report.seq <= seq) return 'duplicate';
    highest.set(agentId, report.seq);
    moved.add(agentId);
    stored.push(queued);
    return 'stored';
  });
  const agentIds = [...moved].sort(byText);
  return { outcomes, stored, watermarks: { agentIds, seqs: agentIds.map((id) => highest.get(id)!) } };
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
