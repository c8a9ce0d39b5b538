import type { FieldError } from '@portfleet/proto';
import type { Push, PushTarget, PushTargetState } from '../generated/prisma/client';

export const TARGET_STATES: readonly PushTargetState[] = ['waiting', 'pending', 'delivered', 'applied', 'failed', 'superseded', 'cancelled'];

export type PushCounts = Record<PushTargetState, number>;

export function countStates(targets: readonly { state: PushTargetState }[]): PushCounts {
  const counts = Object.fromEntries(TARGET_STATES.map((s) => [s, 0])) as PushCounts;
  for (const t of targets) counts[t.state]++;
  return counts;
}

export interface PushTargetView {
  agentId: string;
  state: PushTargetState;
  wave: number;
  errors: FieldError[];
  updatedAt: string;
}

/** The API shape of a push (docs/http-api.md `Push`; `PushSummary` has no targets). */
export interface PushSummary {
  id: string;
  ruleSetId: string;
  version: number;
  createdAt: string;
  createdBy: string;
  status: Push['status'];
  rollout: { waves: number[]; maxFailurePercent: number; currentWave: number } | null;
  rollbackOf: string | null;
  counts: PushCounts;
}

export interface PushView extends PushSummary {
  targets: PushTargetView[];
}

export function pushSummary(push: Push, counts: PushCounts): PushSummary {
  return {
    id: push.id,
    ruleSetId: push.ruleSetId,
    version: push.version,
    createdAt: push.createdAt.toISOString(),
    createdBy: push.createdBy,
    status: push.status,
    rollout: push.waves.length > 0 ? { waves: push.waves, maxFailurePercent: push.maxFailurePercent, currentWave: push.currentWave } : null,
    rollbackOf: push.rollbackOf,
    counts,
  };
}

/** A target as the view reads it (push-view query: ordered by wave, then agent id). */
export interface TargetRow {
  agent_id: string;
  state: PushTargetState;
  wave: number;
  errors: unknown;
  updated_at: Date;
}

/** `targets` in wave, then agent id order (the database sorts: thousands of targets per push). */
export function pushView(push: Push, targets: readonly TargetRow[]): PushView {
  return {
    ...pushSummary(push, countStates(targets)),
    targets: targets.map((t) => ({ agentId: t.agent_id, state: t.state, wave: t.wave, errors: t.errors as FieldError[], updatedAt: t.updated_at.toISOString() })),
  };
}
