import type { FieldError } from '@portfleet/proto';
import type { Push, PushTarget, PushTargetState } from '../generated/prisma/client';

/** The API shape of a push (docs/http-api.md `Push`). */
export interface PushView {
  id: string;
  ruleSetId: string;
  version: number;
  createdAt: string;
  targets: { agentId: string; state: PushTargetState; errors: FieldError[]; updatedAt: string }[];
}

export function pushView(push: Push & { targets: PushTarget[] }): PushView {
  return {
    id: push.id,
    ruleSetId: push.ruleSetId,
    version: push.version,
    createdAt: push.createdAt.toISOString(),
    targets: push.targets
      .slice()
      .sort((a, b) => a.agentId.localeCompare(b.agentId))
      .map((t) => ({ agentId: t.agentId, state: t.state, errors: t.errors as unknown as FieldError[], updatedAt: t.updatedAt.toISOString() })),
  };
}
