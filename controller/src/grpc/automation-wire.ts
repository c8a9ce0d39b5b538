/** Domain views → AutomationService messages (the gRPC side of the API shapes). */
import { editionToWire, isEdition, ruleErrorToWire, ruleSetVersionToWire, ruleToWire } from '@portfleet/proto';
import { Edition } from '@portfleet/proto/gen/rules';
import {
  PushAgentState,
  type AgentInfo,
  type DryRunAgent,
  type FieldChange,
  type LicenseInfo,
  type PushInfo,
  type RuleSetDiff as RuleSetDiffMessage,
  type RuleSetInfo,
} from '@portfleet/proto/gen/automation';
import type { AgentView } from '../agents/agent-view';
import type { LicenseView } from '../licensing/license-state';
import type { PushSummary, PushView } from '../pushes/push-view';
import type { DryRunAgent as DryRunAgentView } from '../pushes/pushes.service';
import type { FieldChange as FieldChangeView, RuleSetDiff } from '../rulesets/rule-set-diff';
import type { RuleSetView } from '../rulesets/rule-set-view';

const ms = (iso: string | null) => (iso ? Date.parse(iso) : 0);
const edition = (e: string | null) => (e && isEdition(e) ? editionToWire(e) : Edition.EDITION_UNSPECIFIED);

export function agentInfo(a: AgentView): AgentInfo {
  return {
    id: a.id,
    name: a.name,
    hostname: a.hostname,
    platform: a.platform,
    version: a.version,
    online: a.online,
    lastSeenMs: ms(a.lastSeenAt),
    adapters: a.adapters,
    appliedRuleSetId: a.appliedRuleSetId ?? '',
    appliedVersion: a.appliedVersion ?? 0,
    appliedContentHash: a.appliedContentHash ?? '',
    desiredRuleSetId: a.desiredRuleSetId ?? '',
    desiredVersion: a.desiredVersion ?? 0,
    drift: a.drift,
    edition: edition(a.edition),
    groups: a.groups,
    labels: a.labels,
  };
}

export function ruleSetInfo(v: RuleSetView): RuleSetInfo {
  return {
    id: v.id,
    name: v.name,
    latest: ruleSetVersionToWire({ ruleSetId: v.id, version: v.version, rules: v.rules, settings: v.settings, contentHash: v.contentHash }),
    warnings: v.warnings.map(ruleErrorToWire),
  };
}

export const PUSH_STATES: Record<PushView['targets'][number]['state'], PushAgentState> = {
  pending: PushAgentState.PUSH_AGENT_STATE_PENDING,
  delivered: PushAgentState.PUSH_AGENT_STATE_DELIVERED,
  applied: PushAgentState.PUSH_AGENT_STATE_APPLIED,
  failed: PushAgentState.PUSH_AGENT_STATE_FAILED,
  superseded: PushAgentState.PUSH_AGENT_STATE_SUPERSEDED,
  waiting: PushAgentState.PUSH_AGENT_STATE_WAITING,
  cancelled: PushAgentState.PUSH_AGENT_STATE_CANCELLED,
};

export function pushInfo(p: PushSummary & { targets?: PushView['targets'] }): PushInfo {
  return {
    id: p.id,
    ruleSetId: p.ruleSetId,
    version: p.version,
    createdAtMs: ms(p.createdAt),
    createdBy: p.createdBy,
    status: p.status,
    rollout: p.rollout ? { waves: p.rollout.waves, maxFailurePercent: p.rollout.maxFailurePercent } : undefined,
    currentWave: p.rollout?.currentWave ?? 0,
    rollbackOf: p.rollbackOf ?? '',
    targets: (p.targets ?? []).map((t) => ({ agentId: t.agentId, state: PUSH_STATES[t.state], wave: t.wave, errors: t.errors.map(ruleErrorToWire), updatedAtMs: ms(t.updatedAt) })),
  };
}

function fieldChange(c: FieldChangeView): FieldChange {
  return { field: c.field, fromJson: JSON.stringify(c.from), toJson: JSON.stringify(c.to) };
}

export function diffMessage(d: RuleSetDiff): RuleSetDiffMessage {
  return {
    ruleSetId: d.ruleSetId,
    from: d.from,
    to: d.to,
    added: d.added.map((a) => ({ index: a.index, rule: ruleToWire(a.rule) })),
    removed: d.removed.map((a) => ({ index: a.index, rule: ruleToWire(a.rule) })),
    changed: d.changed.map((c) => ({ ruleId: c.ruleId, fromIndex: c.fromIndex, toIndex: c.toIndex, changes: c.changes.map(fieldChange) })),
    moved: d.moved,
    settings: d.settings.map(fieldChange),
  };
}

export function dryRunAgent(a: DryRunAgentView): DryRunAgent {
  return {
    agentId: a.agentId,
    name: a.name,
    online: a.online,
    edition: edition(a.edition),
    currentRuleSetId: a.current?.ruleSetId ?? '',
    currentVersion: a.current?.version ?? 0,
    diff: a.diff ? diffMessage(a.diff) : undefined,
    errors: a.errors.map(ruleErrorToWire),
  };
}

export function licenseInfo(l: LicenseView): LicenseInfo {
  return {
    status: l.status,
    edition: edition(l.edition),
    serial: l.serial ?? '',
    issuedTo: l.issuedTo ?? '',
    seats: l.seats ?? 0,
    seatsUsed: l.seatsUsed,
    expiresAtMs: ms(l.expiresAt),
    trialEndsAtMs: ms(l.trialEndsAt),
    trialDaysLeft: l.trialDaysLeft ?? 0,
    watermark: l.watermark,
    maxRules: l.limits?.maxRules ?? 0,
  };
}
