import type { FieldError } from '@portfleet/proto';
import type { Db } from '../db/prisma.service';
import { Prisma } from '../generated/prisma/client';

/** One target's answer: applied, or failed with the agent's (or the edition check's) field errors. */
export interface TargetOutcome {
  pushId: string;
  agentId: string;
  applied: boolean;
  errors: FieldError[];
}

/** A target that an outcome finished (it was still pending or delivered). */
export interface FinishedTarget {
  pushId: string;
  agentId: string;
  state: 'applied' | 'failed';
  deliveredAt: Date | null;
}

/** A row of `finishOutcomes`' RETURNING. */
export interface FinishedRow {
  push_id: string;
  agent_id: string;
  state: 'applied' | 'failed';
  delivered_at: Date | null;
}

/**
 * The UPDATE that finishes the targets of `outcomes` still pending or delivered, returning them
 * as FinishedRow; targets already finished (superseded, cancelled, answered twice) are left as
 * they are. A statement of its own, or a data-modifying CTE of a larger one. The outcomes go as
 * one JSON parameter, not four arrays: node-postgres quotes and escapes every array element in
 * JavaScript (four per ack, on the event loop that is sending the push), PostgreSQL parses JSON in C.
 */
export function finishOutcomes(outcomes: readonly TargetOutcome[]): Prisma.Sql {
  const rows = JSON.stringify(outcomes.map((o) => ({ push_id: o.pushId, agent_id: o.agentId, state: o.applied ? 'applied' : 'failed', errors: o.errors })));
  return Prisma.sql`
    UPDATE push_targets t
       SET state = o.state::"PushTargetState", errors = o.errors, finished_at = now(), updated_at = now()
      FROM json_to_recordset(${rows}::json) AS o(push_id uuid, agent_id uuid, state text, errors jsonb)
     WHERE t.push_id = o.push_id AND t.agent_id = o.agent_id AND t.state IN ('pending', 'delivered')
    RETURNING t.push_id, t.agent_id, t.state::text AS state, t.delivered_at`;
}

export function finishedTarget(r: FinishedRow): FinishedTarget {
  return { pushId: r.push_id, agentId: r.agent_id, state: r.state, deliveredAt: r.delivered_at };
}

/** Finishes the targets of `outcomes` (see finishOutcomes), in one statement. */
export async function recordOutcomes(db: Db, outcomes: readonly TargetOutcome[]): Promise<FinishedTarget[]> {
  if (outcomes.length === 0) return [];
  const rows = await db.$queryRaw<FinishedRow[]>(finishOutcomes(outcomes));
  return rows.map(finishedTarget);
}
