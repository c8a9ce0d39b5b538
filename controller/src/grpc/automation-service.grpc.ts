import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { ruleErrorToWire, ruleFromWire, settingsFromWire } from '@portfleet/proto';
import type { AutomationServiceServer, Event, WatchEventsRequest } from '@portfleet/proto/gen/automation';
import type { Logger } from 'pino';
import { ActivityService } from '../activity/activity.service';
import { parseAgentChanges, parseEditionFilter, parseMacAction } from '../agents/agent-input';
import { AgentsService } from '../agents/agents.service';
import { hasRole, type Actor } from '../auth/actor';
import { AuthError } from '../auth/auth.errors';
import { AuthService } from '../auth/auth.service';
import { LOGGER } from '../core.module';
import { EventBus } from '../events/event-bus';
import type { Role } from '../generated/prisma/client';
import { LicensingService } from '../licensing/licensing.service';
import { isNumberKey, isTimeIdKey, pageRequest } from '../paging/page';
import { PushesService, type CreatePushInput } from '../pushes/pushes.service';
import { parseRollout } from '../pushes/rollout';
import { RuleSetsService } from '../rulesets/rulesets.service';
import { agentInfo, diffMessage, dryRunAgent, licenseInfo, PUSH_STATES, pushInfo, ruleSetInfo } from './automation-wire';
import { bearer, toGrpcError, unary } from './grpc-status';

const READ: Access = { role: 'viewer', scope: 'read' };
const WRITE: Access = { role: 'operator', scope: 'write' };
const ADMIN: Access = { role: 'admin', scope: 'write' };
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
    private readonly licensing: LicensingService,
    private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  implementation(): AutomationServiceServer {
    const call = <Req, Res>(access: Access, handler: (req: Req, actor: Actor) => Promise<Res>) =>
      unary<Req, Res>(this.logger, async (req, metadata) => handler(req, await this.actor(metadata, access)));
    return {
      listAgents: call(READ, async (req) => {
        const page = await this.agents.list(
          { search: req.search || undefined, online: req.online, group: req.group || undefined, label: req.label || undefined, edition: parseEditionFilter(req.edition) },
          pageRequest(req.pageSize, req.pageToken, isTimeIdKey),
        );
        return { agents: page.items.map(agentInfo), nextPageToken: page.nextCursor ?? '' };
      }),
      getAgent: call(READ, async (req) => agentInfo(await this.agents.get(req.id))),
      updateAgent: call(WRITE, async (req, actor) =>
        agentInfo(await this.agents.update(actor, req.id, parseAgentChanges({ name: req.name, groups: req.groups?.values, labels: req.labels?.values }))),
      ),
      retireAgent: call(WRITE, async (req, actor) => agentInfo(await this.agents.retire(actor, req.id))),
      listAgentPushes: call(READ, async (req) => {
        const agent = await this.agents.find(req.agentId);
        const page = await this.pushes.history(agent.id, pageRequest(req.pageSize, req.pageToken, isTimeIdKey));
        return {
          pushes: page.items.map((e) => ({
            pushId: e.pushId,
            ruleSetId: e.ruleSetId,
            version: e.version,
            state: PUSH_STATES[e.state],
            errors: e.errors.map(ruleErrorToWire),
            createdAtMs: Date.parse(e.createdAt),
            updatedAtMs: Date.parse(e.updatedAt),
          })),
          nextPageToken: page.nextCursor ?? '',
        };
      }),
      sendAdapterCommand: call(WRITE, async (req, actor) => {
        const action = parseMacAction(
          req.action?.$case === 'setMac' ? { action: 'set', mac: req.action.value }
          : req.action?.$case === 'randomMacVendor' ? { action: 'random', vendor: req.action.value }
          : req.action?.$case === 'restoreMac' ? { action: 'restore' }
          : {},
        );
        const r = await this.agents.changeMac(actor, req.agentId, req.adapter, action);
        return { commandId: r.commandId, ok: r.ok, error: r.error ?? '', mac: r.mac ?? '', adapters: r.adapters };
      }),
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
      listRuleSetVersions: call(READ, async (req) => {
        const page = await this.ruleSets.versions(req.ruleSetId, pageRequest(req.pageSize, req.pageToken, isNumberKey));
        return {
          versions: page.items.map((v) => ({ version: v.version, contentHash: v.contentHash, ruleCount: v.ruleCount, createdAtMs: Date.parse(v.createdAt), createdBy: v.createdBy })),
          nextPageToken: page.nextCursor ?? '',
        };
      }),
      diffRuleSetVersions: call(READ, async (req) => diffMessage(await this.ruleSets.diff(req.ruleSetId, req.from, req.to || undefined))),
      updateSettings: call(WRITE, async (req, actor) => ruleSetInfo(await this.ruleSets.updateSettings(actor, req.ruleSetId, settingsFromWire(req.settings)))),
      exportRules: call(READ, async (req) => this.ruleSets.exportFile(req.ruleSetId, req.version || undefined)),
      importRules: call(WRITE, async (req, actor) => ruleSetInfo(await this.ruleSets.importFile(actor, req.ruleSetId, req.content))),

      createPush: call(WRITE, async (req, actor) => pushInfo(await this.pushes.create(actor, pushInput(req)))),
      dryRunPush: call(WRITE, async (req) => {
        const r = await this.pushes.dryRun(pushInput(req));
        return { ruleSetId: r.ruleSetId, version: r.version, agents: r.agents.map(dryRunAgent) };
      }),
      getPush: call(READ, async (req) => pushInfo(await this.pushes.get(req.id))),
      listPushes: call(READ, async (req) => {
        const page = await this.pushes.list({ ruleSetId: req.ruleSetId || undefined }, pageRequest(req.pageSize, req.pageToken, isTimeIdKey));
        return { pushes: page.items.map(pushInfo), nextPageToken: page.nextCursor ?? '' };
      }),
      retryPush: call(WRITE, async (req, actor) => pushInfo(await this.pushes.retry(actor, req.id))),
      rollbackPush: call(WRITE, async (req, actor) => pushInfo(await this.pushes.rollback(actor, req.id, req.version || undefined))),
      resumePush: call(WRITE, async (req, actor) => pushInfo(await this.pushes.resume(actor, req.id))),
      abortPush: call(WRITE, async (req, actor) => pushInfo(await this.pushes.abort(actor, req.id))),

      getLicense: call(READ, async () => licenseInfo(await this.licensing.view())),
      activateLicense: call(ADMIN, async (req, actor) => licenseInfo(await this.licensing.activate(actor, req.key))),

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
      watchEvents: (stream) => this.watch(stream),
    };
  }

  /** Server-streams live events until the client cancels. */
  private watch(stream: ServerWritableStream<WatchEventsRequest, Event>): void {
    this.actor(stream.metadata, READ).then(
      () => {
        const unsubscribe = this.bus.subscribe((e) => {
          stream.write({ type: e.type, dataJson: JSON.stringify(e.data) });
        });
        const end = () => unsubscribe();
        stream.on('cancelled', end);
        stream.on('close', end);
        stream.on('error', end);
      },
      // emit('error') sends the status; destroy() closed nothing and left a refused caller hanging.
      (err: unknown) => stream.emit('error', toGrpcError(err, this.logger)),
    );
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

function pushInput(req: { ruleSetId: string; version: number; agentIds: string[]; groups: string[]; labels: string[]; rollout?: { waves: number[]; maxFailurePercent: number } }): CreatePushInput {
  return {
    ruleSetId: req.ruleSetId,
    version: req.version || undefined,
    agentIds: req.agentIds,
    groups: req.groups,
    labels: req.labels,
    rollout: parseRollout(req.rollout),
  };
}
