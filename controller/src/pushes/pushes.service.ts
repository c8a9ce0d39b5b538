import { Inject, Injectable } from '@nestjs/common';
import { ruleSetVersionToWire, type FieldError } from '@portfleet/proto';
import type { Logger } from 'pino';
import { AgentStreams } from '../agents/agent-streams';
import { AgentError } from '../agents/agents.errors';
import type { Actor } from '../auth/actor';
import { AuditService } from '../audit/audit.service';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { isUuid } from '../errors/request-fields';
import type { Agent, Prisma } from '../generated/prisma/client';
import { RuleSetsService } from '../rulesets/rulesets.service';
import { pushView, type PushView } from './push-view';
import { PushError } from './pushes.errors';

export interface CreatePushInput {
  ruleSetId: string;
  version?: number;
  agentIds: string[];
  /** Agents in any of these groups or with any of these labels are added. */
  groups?: string[];
  labels?: string[];
}

export interface AckInput {
  pushId: string;
  ruleSetId: string;
  version: number;
  contentHash: string;
  applied: boolean;
  errors: FieldError[];
}

/**
 * Pushes one rule-set version to agents: pending (recorded, desired version set) → delivered
 * (sent on a live stream, now or on the agent's next Hello) → applied | failed (the agent's Ack).
 */
@Injectable()
export class PushesService {
  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    private readonly ruleSets: RuleSetsService,
    private readonly streams: AgentStreams,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(actor: Actor, input: CreatePushInput): Promise<PushView> {
    const push = await this.db.$transaction(async (tx) => {
      const version = await this.ruleSets.get(input.ruleSetId, input.version, tx);
      for (const [i, id] of input.agentIds.entries()) {
        const agent = isUuid(id) ? await tx.agent.findUnique({ where: { id } }) : null;
        if (!agent || agent.retiredAt) throw AgentError.notFound(id, `agentIds[${i}]`);
      }
      const groups = input.groups ?? [];
      const labels = input.labels ?? [];
      const tagged = groups.length + labels.length === 0 ? [] : await tx.agent.findMany({
        where: { retiredAt: null, OR: [{ groups: { hasSome: groups } }, { labels: { hasSome: labels } }] },
        select: { id: true },
      });
      const agentIds = [...new Set([...input.agentIds, ...tagged.map((a) => a.id)])];
      if (agentIds.length === 0) throw PushError.noTargets();
      const created = await tx.push.create({
        data: { ruleSetId: version.id, version: version.version, createdBy: actor.label, targets: { create: agentIds.map((agentId) => ({ agentId })) } },
        include: { targets: true },
      });
      await tx.agent.updateMany({ where: { id: { in: agentIds } }, data: { desiredRuleSetId: version.id, desiredVersion: version.version } });
      await this.audit.record(tx, actor, {
        action: 'push.create',
        target: `push:${created.id}`,
        after: { ruleSetId: version.id, version: version.version, agentIds },
      });
      return created;
    });
    for (const { agentId } of push.targets) await this.deliver(push.id, agentId);
    return this.get(push.id);
  }

  async get(id: string): Promise<PushView> {
    const push = isUuid(id) ? await this.db.push.findUnique({ where: { id }, include: { targets: true } }) : null;
    if (!push) throw PushError.notFound(id);
    return pushView(push);
  }

  /**
   * On Hello: when what the agent runs differs from its desired version, (re)send the newest push
   * of that version to it. Returns the push id sent, if any.
   */
  async catchUp(agent: Agent): Promise<string | undefined> {
    if (!agent.desiredRuleSetId || agent.desiredVersion === null) return undefined;
    const desired = await this.ruleSets.versionModel(agent.desiredRuleSetId, agent.desiredVersion);
    const inSync =
      agent.appliedRuleSetId === desired.ruleSetId && agent.appliedVersion === desired.version && agent.appliedContentHash === desired.contentHash;
    if (inSync) return undefined;
    const target = await this.db.pushTarget.findFirst({
      where: { agentId: agent.id, push: { ruleSetId: desired.ruleSetId, version: desired.version } },
      orderBy: { push: { createdAt: 'desc' } },
    });
    if (!target) return undefined;
    return (await this.deliver(target.pushId, agent.id)) ? target.pushId : undefined;
  }

  /** The agent's answer: the target becomes applied or failed; an applied version becomes the agent's. */
  async ack(agentId: string, ack: AckInput): Promise<void> {
    const now = new Date();
    await this.db.$transaction(async (tx) => {
      if (isUuid(ack.pushId)) {
        await tx.pushTarget.updateMany({
          where: { pushId: ack.pushId, agentId },
          data: { state: ack.applied ? 'applied' : 'failed', errors: ack.errors as unknown as Prisma.InputJsonValue, finishedAt: now },
        });
      }
      const knownSet = isUuid(ack.ruleSetId) && (await tx.ruleSet.count({ where: { id: ack.ruleSetId } })) > 0;
      if (ack.applied && knownSet) {
        await tx.agent.update({
          where: { id: agentId },
          data: { appliedRuleSetId: ack.ruleSetId, appliedVersion: ack.version, appliedContentHash: ack.contentHash, lastSeenAt: now },
        });
      }
    });
  }

  /** Sends the push's version on the agent's live stream; marks the target delivered if it went out. */
  private async deliver(pushId: string, agentId: string): Promise<boolean> {
    if (!this.streams.isOnline(agentId)) return false;
    const push = await this.db.push.findUniqueOrThrow({ where: { id: pushId } });
    const version = await this.ruleSets.versionModel(push.ruleSetId, push.version);
    const sent = this.streams.send(agentId, { body: { $case: 'apply', value: { pushId, ruleSet: ruleSetVersionToWire(version), capabilities: undefined } } });
    if (!sent) return false;
    await this.db.pushTarget.updateMany({
      where: { pushId, agentId, state: { in: ['pending', 'delivered'] } },
      data: { state: 'delivered', deliveredAt: new Date() },
    });
    this.logger.info({ pushId, agentId, version: version.version }, 'rule set delivered');
    return true;
  }
}
