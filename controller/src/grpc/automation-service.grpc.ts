import type { Metadata } from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { ruleErrorToWire, ruleFromWire, ruleSetVersionToWire } from '@portfleet/proto';
import { PushAgentState, type AgentInfo, type AutomationServiceServer, type PushInfo, type RuleSetInfo } from '@portfleet/proto/gen/automation';
import type { Logger } from 'pino';
import { ActivityService } from '../activity/activity.service';
import type { AgentView } from '../agents/agent-view';
import { AgentsService } from '../agents/agents.service';
import { hasRole, type Actor } from '../auth/actor';
import { AuthError } from '../auth/auth.errors';
import { AuthService } from '../auth/auth.service';
import { LOGGER } from '../core.module';
import type { Role } from '../generated/prisma/client';
import type { PushView } from '../pushes/push-view';
import { PushesService } from '../pushes/pushes.service';
import type { RuleSetView } from '../rulesets/rule-set-view';
import { RuleSetsService } from '../rulesets/rulesets.service';
import { bearer, unary } from './grpc-status';

const READ: Access = { role: 'viewer', scope: 'read' };
const WRITE: Access = { role: 'operator', scope: 'write' };
interface Access {
  role: Role;
  scope: 'read' | 'write';
}

/** Automation over gRPC: the same domain services as the HTTP API, authenticated by API token. */
@Injectable()
export class AutomationServiceGrpc {
  constructor(
    private readonly auth: AuthService,
    private readonly agents: AgentsService,
    private readonly ruleSets: RuleSetsService,
    private readonly pushes: PushesService,
    private readonly activity: ActivityService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  implementation(): AutomationServiceServer {
    const call = <Req, Res>(access: Access, handler: (req: Req, actor: Actor) => Promise<Res>) =>
      unary<Req, Res>(this.logger, async (req, metadata) => handler(req, await this.actor(metadata, access)));
    return {
      listAgents: call(READ, async () => ({ agents: (await this.agents.list()).map(agentInfo), nextPageToken: '' })),
      getAgent: call(READ, async (req) => agentInfo(await this.agents.get(req.id))),
      createEnrollmentToken: call(WRITE, async (req, actor) => {
        const t = await this.agents.createEnrollmentToken(actor, req.ttlS || undefined);
        return { token: t.token, expiresAtMs: t.expiresAt.getTime(), command: t.command };
      }),
      listRuleSets: call(READ, async () => {
        const sets = await this.ruleSets.list();
        return { ruleSets: await Promise.all(sets.map(async (s) => ruleSetInfo(await this.ruleSets.get(s.id)))) };
      }),
      createRuleSet: call(WRITE, async (req, actor) => ruleSetInfo(await this.ruleSets.create(actor, req.name))),
      getRuleSet: call(READ, async (req) => ruleSetInfo(await this.ruleSets.get(req.id, req.version || undefined))),
      createRule: call(WRITE, async (req, actor) =>
        ruleSetInfo(await this.ruleSets.addRule(actor, req.ruleSetId, req.rule && ruleFromWire(req.rule), req.position)),
      ),
      updateRule: call(WRITE, async (req, actor) =>
        ruleSetInfo(await this.ruleSets.updateRule(actor, req.ruleSetId, req.ruleId, req.rule && ruleFromWire(req.rule))),
      ),
      deleteRule: call(WRITE, async (req, actor) => ruleSetInfo(await this.ruleSets.deleteRule(actor, req.ruleSetId, req.ruleId))),
      reorderRules: call(WRITE, async (req, actor) => ruleSetInfo(await this.ruleSets.reorder(actor, req.ruleSetId, req.ruleIds))),
      createPush: call(WRITE, async (req, actor) =>
        pushInfo(await this.pushes.create(actor, { ruleSetId: req.ruleSetId, version: req.version || undefined, agentIds: req.agentIds, groups: req.groups, labels: req.labels })),
      ),
      getPush: call(READ, async (req) => pushInfo(await this.pushes.get(req.id))),
      getActivity: call(READ, async (req) => ({
        totals: (await this.activity.totals({ agentId: req.agentId || undefined, ruleId: req.ruleId || undefined })).map((t) => ({
          agentId: t.agentId,
          ruleId: t.ruleId,
          packetsIn: t.packetsIn,
          bytesIn: t.bytesIn,
          packetsOut: t.packetsOut,
          bytesOut: t.bytesOut,
          conversations: t.conversations,
          lastHitMs: t.lastHitAt ? Date.parse(t.lastHitAt) : 0,
        })),
      })),
    };
  }

  private async actor(metadata: Metadata, access: Access): Promise<Actor> {
    const token = bearer(metadata);
    if (!token) throw AuthError.notLoggedIn();
    const actor = await this.auth.tokenActor(token);
    if (!actor.scopes?.includes(access.scope)) throw AuthError.scope(access.scope);
    if (!hasRole(actor, access.role)) throw AuthError.role(access.role);
    return actor;
  }
}

function agentInfo(a: AgentView): AgentInfo {
  return {
    id: a.id,
    name: a.name,
    hostname: a.hostname,
    platform: a.platform,
    version: a.version,
    online: a.online,
    lastSeenMs: a.lastSeenAt ? Date.parse(a.lastSeenAt) : 0,
    adapters: a.adapters,
    appliedRuleSetId: a.appliedRuleSetId ?? '',
    appliedVersion: a.appliedVersion ?? 0,
    desiredRuleSetId: a.desiredRuleSetId ?? '',
    desiredVersion: a.desiredVersion ?? 0,
    groups: a.groups,
    labels: a.labels,
  };
}

function ruleSetInfo(v: RuleSetView): RuleSetInfo {
  return {
    id: v.id,
    name: v.name,
    latest: ruleSetVersionToWire({ ruleSetId: v.id, version: v.version, rules: v.rules, settings: v.settings, contentHash: v.contentHash }),
    warnings: v.warnings.map(ruleErrorToWire),
  };
}

const STATES: Record<PushView['targets'][number]['state'], PushAgentState> = {
  pending: PushAgentState.PUSH_AGENT_STATE_PENDING,
  delivered: PushAgentState.PUSH_AGENT_STATE_DELIVERED,
  applied: PushAgentState.PUSH_AGENT_STATE_APPLIED,
  failed: PushAgentState.PUSH_AGENT_STATE_FAILED,
};

function pushInfo(p: PushView): PushInfo {
  return {
    id: p.id,
    ruleSetId: p.ruleSetId,
    version: p.version,
    createdAtMs: Date.parse(p.createdAt),
    targets: p.targets.map((t) => ({ agentId: t.agentId, state: STATES[t.state], errors: t.errors.map(ruleErrorToWire), updatedAtMs: Date.parse(t.updatedAt) })),
  };
}
