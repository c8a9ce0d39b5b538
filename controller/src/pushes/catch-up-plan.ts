import { intArray, uuidArray } from '../db/array-params';
import type { Db } from '../db/prisma.service';
import { Prisma, type Agent, type PushTargetState } from '../generated/prisma/client';
import type { RuleSetsService } from '../rulesets/rulesets.service';
import type { TargetOutcome } from './push-outcomes';

/** What the Hellos of a batch of agents call for. */
export interface CatchUpPlan {
  /** Agents whose Hello reports their newest unfinished push's version: those targets are applied. */
  applied: TargetOutcome[];
  /** Push id → agents it is the newest unfinished push of: sent to them. */
  send: Map<string, string[]>;
  /** Push id → agents that no longer run their desired version: its newest push, sent again. */
  resend: Map<string, string[]>;
}

type VersionRef = { ruleSetId: string; version: number };
/** A target that may settle or be sent again, with its push's version. */
type CandidateRow = { agentId: string; pushId: string; state: PushTargetState } & VersionRef;
const key = (v: VersionRef) => `${v.ruleSetId}/${v.version}`;

/**
 * Per agent: its newest unfinished push (settled as applied when the agent already runs that
 * version, sent otherwise); without one, when what it runs differs from its desired version, the
 * newest finished push of that version. One query for every agent's candidate pushes, and one
 * version load per distinct version among them.
 */
export async function planCatchUps(db: Db, ruleSets: RuleSetsService, agents: readonly Agent[]): Promise<CatchUpPlan> {
  const plan: CatchUpPlan = { applied: [], send: new Map(), resend: new Map() };
  if (agents.length === 0) return plan;
  const desired = new Map<string, VersionRef>();
  for (const a of agents) if (a.desiredRuleSetId && a.desiredVersion !== null) desired.set(key({ ruleSetId: a.desiredRuleSetId, version: a.desiredVersion }), { ruleSetId: a.desiredRuleSetId, version: a.desiredVersion });
  const wanted = [...desired.values()];
  const finished = wanted.length === 0 ? Prisma.empty : Prisma.sql`
      OR (t.state IN ('applied', 'failed') AND (p.rule_set_id, p.version) IN (
        SELECT * FROM unnest(${uuidArray(wanted.map((v) => v.ruleSetId))}::uuid[], ${intArray(wanted.map((v) => v.version))}::int[])))`;
  const rows = await db.$queryRaw<CandidateRow[]>`
    SELECT t.agent_id::text AS "agentId", t.push_id::text AS "pushId", t.state::text AS state, p.rule_set_id::text AS "ruleSetId", p.version
      FROM push_targets t JOIN pushes p ON p.id = t.push_id
     WHERE t.agent_id = ANY(${uuidArray(agents.map((a) => a.id))}::uuid[])
       AND (t.state IN ('pending', 'delivered') ${finished})
     ORDER BY p.created_at DESC, p.id DESC`;
  const byAgent = new Map<string, CandidateRow[]>();
  for (const r of rows) append(byAgent, r.agentId, r);

  const hashes = new Map<string, string | null>();
  const versions = new Map<string, VersionRef>([...desired, ...rows.map((r) => [key(r), r] as const)]);
  await Promise.all(
    [...versions].map(async ([k, v]) => {
      // A version that cannot be loaded is one no agent runs; sending it reports why.
      hashes.set(k, await ruleSets.versionModel(v.ruleSetId, v.version).then((m) => m.contentHash, () => null));
    }),
  );
  for (const agent of agents) {
    const runs = (v: VersionRef) => {
      const hash = hashes.get(key(v));
      return hash != null && agent.appliedRuleSetId === v.ruleSetId && agent.appliedVersion === v.version && agent.appliedContentHash === hash;
    };
    const candidates = byAgent.get(agent.id) ?? [];
    const unfinished = candidates.find((r) => r.state === 'pending' || r.state === 'delivered');
    if (unfinished) {
      if (runs(unfinished)) plan.applied.push({ pushId: unfinished.pushId, agentId: agent.id, applied: true, errors: [] });
      else append(plan.send, unfinished.pushId, agent.id);
      continue;
    }
    if (!agent.desiredRuleSetId || agent.desiredVersion === null) continue;
    const want = { ruleSetId: agent.desiredRuleSetId, version: agent.desiredVersion };
    if (hashes.get(key(want)) == null || runs(want)) continue;
    const last = candidates.find((r) => r.ruleSetId === want.ruleSetId && r.version === want.version);
    if (last) append(plan.resend, last.pushId, agent.id);
  }
  return plan;
}

function append<T>(map: Map<string, T[]>, k: string, item: T): void {
  const list = map.get(k);
  if (list) list.push(item);
  else map.set(k, [item]);
}
