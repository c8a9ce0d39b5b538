import type { Db } from '../db/prisma.service';
import type { Agent } from '../generated/prisma/client';
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
  const rows = await db.pushTarget.findMany({
    where: {
      agentId: { in: agents.map((a) => a.id) },
      OR: [
        { state: { in: ['pending', 'delivered'] } },
        ...(desired.size > 0 ? [{ state: { in: ['applied' as const, 'failed' as const] }, push: { OR: [...desired.values()] } }] : []),
      ],
    },
    select: { agentId: true, pushId: true, state: true, push: { select: { ruleSetId: true, version: true } } },
    orderBy: [{ push: { createdAt: 'desc' } }, { pushId: 'desc' }],
  });
  const byAgent = new Map<string, typeof rows>();
  for (const r of rows) append(byAgent, r.agentId, r);

  const hashes = new Map<string, string | null>();
  const versions = new Map<string, VersionRef>([...desired, ...rows.map((r) => [key(r.push), r.push] as const)]);
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
      if (runs(unfinished.push)) plan.applied.push({ pushId: unfinished.pushId, agentId: agent.id, applied: true, errors: [] });
      else append(plan.send, unfinished.pushId, agent.id);
      continue;
    }
    if (!agent.desiredRuleSetId || agent.desiredVersion === null) continue;
    const want = { ruleSetId: agent.desiredRuleSetId, version: agent.desiredVersion };
    if (hashes.get(key(want)) == null || runs(want)) continue;
    const last = candidates.find((r) => r.push.ruleSetId === want.ruleSetId && r.push.version === want.version);
    if (last) append(plan.resend, last.pushId, agent.id);
  }
  return plan;
}

function append<T>(map: Map<string, T[]>, k: string, item: T): void {
  const list = map.get(k);
  if (list) list.push(item);
  else map.set(k, [item]);
}
